"""Documents: what workflows read and write, downloadable by people."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow
from models.workflow import str_enum_column


class DocumentSource(StrEnum):
    UPLOAD = "upload"
    RUN = "run"
    API = "api"


class Document(SQLModel, table=True):
    """A Markdown (or plain) document; run outputs name the run and node that made them."""

    __tablename__ = "documents"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", index=True, ondelete="SET NULL")
    title: str = Field(max_length=300)
    source: DocumentSource = Field(sa_column=str_enum_column(DocumentSource))
    mime_type: str = Field(default="text/markdown", max_length=100)
    content: str = Field(default="", sa_column=Column(Text, nullable=False))
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column("metadata", JSON, nullable=False))
    workflow_id: int | None = Field(default=None, foreign_key="workflows.id", index=True, ondelete="SET NULL")
    run_id: uuid.UUID | None = Field(default=None, foreign_key="runs.id", index=True, ondelete="SET NULL")
    node_id: str | None = Field(default=None, max_length=100)
    current_version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
