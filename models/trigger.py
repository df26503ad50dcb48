"""What starts runs besides a person: cron schedules, webhooks and other runs finishing."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow


class Schedule(SQLModel, table=True):
    """A cron schedule; ``next_fire_at`` is claimed with compare-and-set so it fires once."""

    __tablename__ = "schedules"
    __table_args__ = (Index("ix_schedules_due", "enabled", "next_fire_at"),)

    id: int | None = Field(default=None, primary_key=True)
    workflow_id: int = Field(foreign_key="workflows.id", index=True, ondelete="CASCADE")
    cron: str = Field(max_length=100)
    timezone: str = Field(default="UTC", max_length=64)
    parameters: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    enabled: bool = True
    next_fire_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_fired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebhookTrigger(SQLModel, table=True):
    """A secret URL that starts a run with its JSON body as parameters. Only a hash is stored."""

    __tablename__ = "webhook_triggers"

    id: int | None = Field(default=None, primary_key=True)
    workflow_id: int = Field(foreign_key="workflows.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True, index=True)
    token_hint: str = Field(default="", max_length=8)
    enabled: bool = True
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RunFinishedTrigger(SQLModel, table=True):
    """Start ``workflow_id`` when a run of ``source_workflow_id`` finishes with ``on_status``."""

    __tablename__ = "run_finished_triggers"

    id: int | None = Field(default=None, primary_key=True)
    workflow_id: int = Field(foreign_key="workflows.id", index=True, ondelete="CASCADE")
    source_workflow_id: int = Field(foreign_key="workflows.id", index=True, ondelete="CASCADE")
    on_status: str = Field(default="succeeded", max_length=16)
    enabled: bool = True
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
