"""What the notification service takes and gives back: requests, public views, summaries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from models.notification import DeliveryStatus, Priority
from services.notifications.channels.base import MAX_BODY_CHARS, MAX_SUBJECT_CHARS

MAX_BULK_RECIPIENTS = 10_000


class TemplateRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    version: int | None = Field(default=None, ge=1, description="None: the newest version.")


class MessageContent(BaseModel):
    """Either a template (with variables) or the subject/message/html written out."""

    model_config = ConfigDict(extra="forbid")

    channel: str = Field(min_length=1, max_length=30)
    subject: str = Field(default="", max_length=MAX_SUBJECT_CHARS)
    message: str = Field(default="", max_length=MAX_BODY_CHARS, description="Plain-text body (a Jinja2 template).")
    html: str | None = Field(default=None, max_length=MAX_BODY_CHARS)
    template: TemplateRef | None = None
    variables: dict[str, Any] = Field(default_factory=dict)
    priority: Priority = Priority.NORMAL
    category: str = Field(default="general", min_length=1, max_length=50)


class SendRequest(MessageContent):
    recipient: str = Field(default="", max_length=500,
                           description="Address on the channel; for in_app a user's id or email (default: you).")
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=200,
                                        description="Same key, same notification: a repeat is a no-op.")


class BulkRequest(MessageContent):
    recipients: list[str] = Field(min_length=1, max_length=MAX_BULK_RECIPIENTS)
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=150,
                                        description="Prefix of each recipient's key: a repeated bulk call resumes.")


class SendContext(BaseModel):
    """Where a send comes from when a workflow sent it."""

    run_id: uuid.UUID | None = None
    node_id: str | None = None
    default_user_id: uuid.UUID | None = Field(default=None, description="in_app recipient when none is given.")


class SendResult(BaseModel):
    notification_id: uuid.UUID
    delivery_id: uuid.UUID
    status: DeliveryStatus
    duplicate: bool = Field(description="True when the idempotency key had been used: nothing new was sent.")
    next_attempt_at: datetime | None = None
    note: str | None = None


class RejectedRecipient(BaseModel):
    recipient: str
    message: str


class BulkSummary(BaseModel):
    id: uuid.UUID = Field(description="This bulk send: GET .../notifications/bulk/{id} follows its deliveries. "
                                      "A repeated call with the same idempotency key has the same id.")
    requested: int
    queued: int = Field(description="Recorded and waiting to be sent, including those held for a digest.")
    held_for_digest: int = Field(default=0, description="Of the queued: held for the recipient's digest.")
    duplicates: int
    failed: int = Field(description="Recorded but not sent (recipient opted out).")
    rejected: int = Field(description="Not recorded: not an address of this channel.")
    rejected_examples: list[RejectedRecipient] = Field(default_factory=list, description="The first 100.")


class BulkProgress(BaseModel):
    """Where a bulk send's deliveries are now, counted from their rows."""

    id: uuid.UUID
    channel: str
    total: int = Field(description="Notifications the bulk send recorded (one delivery each).")
    queued: int = Field(description="Waiting to be sent (due, retrying later, or held for a digest).")
    held_for_digest: int = Field(description="Of the queued: held for the recipient's digest.")
    sending: int
    sent: int
    failed: int = Field(description="Refused for good (a permanent error, or the recipient opted out).")
    dead: int = Field(description="Gave up after the last retry.")
    digested: int = Field(description="Batched into a digest that has not gone out yet.")
    done: bool = Field(description="Nothing is queued, sending or digested any more.")


class DeliveryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    channel: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    provider_message_id: str | None
    response: dict[str, Any]
    queued_at: datetime
    started_at: datetime | None
    sent_at: datetime | None
    finished_at: datetime | None
    run_id: uuid.UUID | None = Field(default=None, description="The workflow run that sent it (/runs/{run_id}).")
    node_id: str | None = Field(default=None, description="The node of that run that sent it.")


class NotificationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    channel: str
    recipient: str
    user_id: uuid.UUID | None
    category: str
    priority: Priority
    subject: str
    body: str
    html: str | None
    template_name: str | None
    template_version: int | None
    run_id: uuid.UUID | None
    node_id: str | None
    created_by: uuid.UUID | None
    created_at: datetime
    delivered_at: datetime | None
    read_at: datetime | None
    archived_at: datetime | None
    status: DeliveryStatus | None = None


class NotificationDetail(NotificationPublic):
    variables: dict[str, Any]
    idempotency_key: str
    deliveries: list[DeliveryPublic]


class NotificationsPublic(BaseModel):
    data: list[NotificationPublic]
    count: int


class HistoryFilter(BaseModel):
    channel: str | None = None
    status: DeliveryStatus | None = None
    since: datetime | None = None
    until: datetime | None = None
    run_id: uuid.UUID | None = None
    offset: int = Field(default=0, ge=0)
    limit: int = Field(default=50, ge=1, le=500)
