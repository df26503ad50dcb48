"""Workflows and their immutable, numbered versions."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from sqlalchemy import JSON, Column, String, Text, UniqueConstraint
from sqlalchemy import Enum as SAEnum
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow


def str_enum_column(enum: type[StrEnum], *, length: int = 16, index: bool = False) -> Column[Any]:
    """A string column holding a ``StrEnum``'s values (no native enum: migrations stay portable)."""
    return Column(SAEnum(enum, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]),
                  nullable=False, index=index)


class WorkflowStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    ARCHIVED = "archived"


class WorkflowVisibility(StrEnum):
    """Who sees a workflow: everyone in the workspace, or only its owner (and admins)."""

    WORKSPACE = "workspace"
    PRIVATE = "private"


class Workflow(SQLModel, table=True):
    """A named document workflow; its graph lives in ``WorkflowVersion`` rows."""

    __tablename__ = "workflows"

    id: int | None = Field(default=None, primary_key=True)
    owner_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", index=True, ondelete="SET NULL")
    name: str = Field(max_length=200, index=True)
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: WorkflowStatus = Field(default=WorkflowStatus.DRAFT, sa_column=str_enum_column(WorkflowStatus, index=True))
    visibility: WorkflowVisibility = Field(default=WorkflowVisibility.WORKSPACE,
                                           sa_column=str_enum_column(WorkflowVisibility))
    current_version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class WorkflowVersion(SQLModel, table=True):
    """One saved graph of a workflow. Never updated: saving makes the next number."""

    __tablename__ = "workflow_versions"
    __table_args__ = (UniqueConstraint("workflow_id", "number", name="uq_workflow_versions_number"),)

    id: int | None = Field(default=None, primary_key=True)
    workflow_id: int = Field(foreign_key="workflows.id", index=True, ondelete="CASCADE")
    number: int
    graph: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    author_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    message: str = Field(default="", sa_column=Column(String(500), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WorkflowCreate(SQLModel):
    """What creating a workflow takes; ``graph`` is validated against the node catalogue."""

    model_config = {"extra": "forbid"}

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    tags: list[str] = Field(default_factory=list, max_length=20)
    visibility: WorkflowVisibility = WorkflowVisibility.WORKSPACE
    graph: dict[str, Any] = Field(default_factory=lambda: {"nodes": [], "edges": []})


class WorkflowUpdate(SQLModel):
    model_config = {"extra": "forbid"}

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    tags: list[str] | None = Field(default=None, max_length=20)
    status: WorkflowStatus | None = None
    visibility: WorkflowVisibility | None = None


class GraphUpdate(SQLModel):
    """A new graph. ``base_version`` (the version the editor started from) turns a concurrent edit
    into a conflict instead of a silent overwrite."""

    model_config = {"extra": "forbid"}

    graph: dict[str, Any]
    base_version: int | None = Field(default=None, ge=1)
    message: str = Field(default="", max_length=500)


# A plain pydantic model, not a SQLModel: the workflow list validates twenty of these per call,
# and SQLModel's constructor tripled the cost of each.
class WorkflowPublic(BaseModel):
    id: int
    name: str
    description: str
    tags: list[str]
    status: WorkflowStatus
    visibility: WorkflowVisibility
    current_version: int
    owner_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class WorkflowDetail(WorkflowPublic):
    graph: dict[str, Any]


class WorkflowsPublic(BaseModel):
    data: list[WorkflowPublic]
    count: int


class VersionPublic(SQLModel):
    number: int
    author_id: uuid.UUID | None
    message: str
    created_at: datetime
    graph: dict[str, Any] | None = None


class GraphPublic(SQLModel):
    version: int
    graph: dict[str, Any]


class NodeCreate(SQLModel):
    """A node to add, optionally wired after existing nodes."""

    model_config = {"extra": "forbid"}

    id: str = Field(min_length=1, max_length=64)
    type: str = Field(min_length=1, max_length=50)
    config: dict[str, Any] = Field(default_factory=dict)
    position: dict[str, float] | None = None
    label: str = Field(default="", max_length=200)
    connect_from: list[str] = Field(default_factory=list, max_length=50)
    base_version: int | None = Field(default=None, ge=1)


class NodeUpdate(SQLModel):
    model_config = {"extra": "forbid"}

    config: dict[str, Any] | None = None
    position: dict[str, float] | None = None
    label: str | None = Field(default=None, max_length=200)
    base_version: int | None = Field(default=None, ge=1)


class WorkflowExport(SQLModel):
    """The portable JSON of a workflow: what export writes and import reads."""

    format: str = "dwc.workflow/v1"
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    tags: list[str] = Field(default_factory=list, max_length=20)
    graph: dict[str, Any]
    exported_at: datetime | None = None
    source_version: int | None = None
