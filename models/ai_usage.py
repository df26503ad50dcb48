"""One row per AI call: who asked, which provider and model answered, tokens, latency and cost."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow


class AIUsage(SQLModel, table=True):
    """A generate, stream or analyze call. Cache hits are rows too, with ``cached`` and zero cost."""

    __tablename__ = "ai_usage"

    id: int | None = Field(default=None, primary_key=True)
    user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", index=True, ondelete="SET NULL")
    run_id: uuid.UUID | None = Field(default=None, foreign_key="runs.id", index=True, ondelete="SET NULL")
    node_id: str | None = Field(default=None, max_length=100)
    operation: str = Field(max_length=16)
    provider: str = Field(max_length=30, index=True)
    model: str = Field(max_length=100)
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    cached: bool = False
    fallback_from: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
