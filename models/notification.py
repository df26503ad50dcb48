"""Notifications: templates, the rendered notifications, their delivery attempts, and preferences."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow
from models.workflow import str_enum_column

ANY = "*"  # a preference row for every category or every channel


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        """Lower goes first: urgent 0 ... low 3."""
        return {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2, Priority.LOW: 3}[self]


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    DEAD = "dead"
    # Batched into a digest (``provider_message_id`` names the digest notification) that has not gone out yet;
    # it becomes sent, failed or dead with the digest's own delivery.
    DIGESTED = "digested"


class NotificationTemplate(SQLModel, table=True):
    """One version of a named template; saving a changed template adds the next version."""

    __tablename__ = "notification_templates"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_notification_templates_name_version"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, index=True)
    channel: str = Field(max_length=30)
    version: int = 1
    subject: str = Field(default="", sa_column=Column(Text, nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    html: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sample_variables: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Notification(SQLModel, table=True):
    """One rendered message to one recipient on one channel; a repeated idempotency key is the same row."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_inbox", "user_id", "channel", "created_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    channel: str = Field(max_length=30, index=True)
    recipient: str = Field(max_length=500)
    user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="CASCADE")
    category: str = Field(default="general", max_length=50)
    priority: Priority = Field(default=Priority.NORMAL, sa_column=str_enum_column(Priority))
    subject: str = Field(default="", sa_column=Column(Text, nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    html: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    template_name: str | None = Field(default=None, max_length=100)
    template_version: int | None = None
    variables: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    idempotency_key: str = Field(sa_column=Column(String(200), unique=True, nullable=False))
    run_id: uuid.UUID | None = Field(default=None, foreign_key="runs.id", index=True, ondelete="SET NULL")
    node_id: str | None = Field(default=None, max_length=100)
    bulk_id: uuid.UUID | None = Field(default=None, index=True, description="The bulk send that recorded it.")
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id", index=True, ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    archived_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Delivery(SQLModel, table=True):
    """The delivery of a notification on its channel: attempts, the provider's answer, timings."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_due", "status", "next_attempt_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    notification_id: uuid.UUID = Field(foreign_key="notifications.id", index=True, ondelete="CASCADE")
    channel: str = Field(max_length=30)
    status: DeliveryStatus = Field(default=DeliveryStatus.QUEUED, sa_column=str_enum_column(DeliveryStatus))
    priority_rank: int = Field(default=2, description="Priority.rank: the queue takes lower first.")
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    dispatched_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lease_owner: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    lease_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    provider_message_id: str | None = Field(default=None, max_length=300)
    response: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    queued_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class NotificationPreference(SQLModel, table=True):
    """A user's choice for one (category, channel); ``*`` means every. Quiet hours live on the ``*``/``*`` row."""

    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("user_id", "category", "channel", name="uq_notification_preferences_key"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    category: str = Field(default=ANY, max_length=50)
    channel: str = Field(default=ANY, max_length=30)
    enabled: bool = True
    digest: bool = False
    quiet_start: str | None = Field(default=None, max_length=5, description="HH:MM local time")
    quiet_end: str | None = Field(default=None, max_length=5)
    timezone: str | None = Field(default=None, max_length=64)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
