"""Runs of a workflow version and the steps (node executions) they are made of."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, String, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow
from models.workflow import str_enum_column


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in {RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED}


class StepStatus(StrEnum):
    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class Trigger(StrEnum):
    MANUAL = "manual"
    API = "api"
    WEBHOOK = "webhook"
    SCHEDULE = "schedule"
    EVENT = "event"
    RETRY = "retry"


class Run(SQLModel, table=True):
    """One execution of a pinned workflow version. The database, not the queue, is its truth."""

    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_status_lease", "status", "lease_expires_at"),
                      Index("ix_runs_workflow_created", "workflow_id", "created_at"))

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    workflow_id: int = Field(foreign_key="workflows.id", ondelete="CASCADE")
    version: int
    status: RunStatus = Field(default=RunStatus.QUEUED, sa_column=str_enum_column(RunStatus))
    trigger: Trigger = Field(default=Trigger.MANUAL, sa_column=str_enum_column(Trigger))
    parameters: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    retry_of: uuid.UUID | None = Field(default=None)
    from_node: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    duration_ms: float | None = None
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    total_tokens: int = 0
    total_cost: float = 0.0
    claims: int = 0
    lease_owner: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    lease_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancel_requested: bool = False


class Step(SQLModel, table=True):
    """A node's execution within a run: one row per node, ``attempt`` counts its tries."""

    __tablename__ = "steps"
    __table_args__ = (UniqueConstraint("run_id", "node_id", name="uq_steps_run_node"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: uuid.UUID = Field(foreign_key="runs.id", ondelete="CASCADE")
    node_id: str = Field(max_length=100)
    node_type: str = Field(max_length=50)
    status: StepStatus = Field(sa_column=str_enum_column(StepStatus))
    attempt: int = 1
    input: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    output: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    duration_ms: float | None = None
    tokens: int = 0
    cost: float = 0.0
    logs: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(
        JSON, nullable=False, server_default=text("'[]'")))
    """What happened during the step, in order (``StepLogLine`` dicts): attempts, retries, nodes' notes."""


class ExecuteRequest(SQLModel):
    """Start a run. With ``wait`` the call answers when the run ends (or its wait time is up)."""

    model_config = {"extra": "forbid"}

    parameters: dict[str, Any] = Field(default_factory=dict)
    wait: bool = False
    timeout_seconds: float | None = Field(default=None, gt=0, le=600)


class ShortcutExecuteRequest(ExecuteRequest):
    workflow_id: int


class RetryRequest(SQLModel):
    model_config = {"extra": "forbid"}

    from_node: str | None = Field(default=None, max_length=100)


class DecisionRequest(SQLModel):
    model_config = {"extra": "forbid"}

    comment: str = Field(default="", max_length=5000)


class StepLogLine(SQLModel):
    """One line of a step's log: milliseconds after the step started, ``info``/``warning``/``error``, a sentence."""

    at_ms: float
    level: str
    message: str


class StepPublic(SQLModel):
    node_id: str
    node_type: str
    status: StepStatus
    attempt: int
    input: dict[str, Any]
    output: dict[str, Any] | None
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: float | None
    tokens: int
    cost: float
    logs: list[StepLogLine] = Field(default_factory=list)


class RunPublic(SQLModel):
    id: uuid.UUID
    workflow_id: int
    version: int
    status: RunStatus
    trigger: Trigger
    parameters: dict[str, Any]
    created_by: uuid.UUID | None
    retry_of: uuid.UUID | None
    from_node: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: float | None
    error: str | None
    total_tokens: int
    total_cost: float


class RunDetail(RunPublic):
    steps: list[StepPublic]
    documents: list[dict[str, Any]] = Field(default_factory=list)


class RunsPublic(SQLModel):
    data: list[RunPublic]
    count: int


class RunAccepted(SQLModel):
    """The answer to an execute call that did not wait."""

    run_id: uuid.UUID
    status: RunStatus
    workflow_id: int
    version: int


class WorkflowAnalytics(SQLModel):
    workflow_id: int
    runs: int
    by_status: dict[str, int]
    success_rate: float | None
    duration_ms_p50: float | None
    duration_ms_p95: float | None
    total_tokens: int
    total_cost: float
