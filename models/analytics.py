"""Analytics events: one append-only row per thing that happened (a run finished, an AI call, a login...)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Float, Index, Integer, SmallInteger, String, Uuid
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow


class EventType(StrEnum):
    LOGIN = "login"
    WORKFLOW_CREATED = "workflow_created"
    WORKFLOW_EDITED = "workflow_edited"
    RUN_STARTED = "run_started"
    RUN_FINISHED = "run_finished"
    STEP_FINISHED = "step_finished"
    AI_CALL = "ai_call"
    NOTIFICATION_SENT = "notification_sent"
    NOTIFICATION_FAILED = "notification_failed"
    PAGE_VIEW = "page_view"
    UI_ACTION = "ui_action"
    API_CALL = "api_call"
    CACHE_STATS = "cache_stats"


class AnalyticsEvent(SQLModel, table=True):
    """One event. No foreign keys: the table is append-only history that outlives what it mentions,
    and an insert must not pay for (or wait on) checks against other tables."""

    __tablename__ = "analytics_events"
    __table_args__ = (Index("ix_analytics_events_type_time", "type", "time"),
                      Index("ix_analytics_events_workflow_time", "workflow_id", "time"),
                      Index("ix_analytics_events_user_time", "user_id", "time"),
                      Index("ix_analytics_events_time", "time"))

    # BIGINT on PostgreSQL; SQLite's rowid alias must be spelled INTEGER.
    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"),
                                                          primary_key=True, autoincrement=True))
    time: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    type: str = Field(max_length=40)
    user_id: uuid.UUID | None = None
    workflow_id: int | None = None
    run_id: uuid.UUID | None = None
    node_id: str | None = Field(default=None, max_length=100)
    status: str | None = Field(default=None, max_length=20)
    provider: str | None = Field(default=None, max_length=30)
    model: str | None = Field(default=None, max_length=100)
    channel: str | None = Field(default=None, max_length=30)
    duration_ms: float | None = None
    tokens: int | None = None
    cost_usd: float | None = None
    value: float | None = None
    payload: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


# --- rollups: kept current by the recorder's flush (services/analytics/rollup.py) ---------------------------

class AnalyticsHourly(SQLModel, table=True):
    """Events per UTC hour, type and dimension combination: counts and sums the queries add up.

    ``key`` spells the dimensions (NULL-able, so they cannot form a unique key themselves) as one
    string; ``(type, hour, key)`` is unique and is the index the time-range queries read.
    """

    __tablename__ = "analytics_hourly"
    __table_args__ = (Index("ux_analytics_hourly_type_hour_key", "type", "hour", "key", unique=True),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"),
                                                          primary_key=True, autoincrement=True))
    hour: datetime = Field(sa_type=UTCDateTime, nullable=False)
    type: str = Field(max_length=40)
    key: str = Field(sa_column=Column(String(400), nullable=False))
    workflow_id: int | None = None
    status: str | None = Field(default=None, max_length=20)
    provider: str | None = Field(default=None, max_length=30)
    model: str | None = Field(default=None, max_length=100)
    channel: str | None = Field(default=None, max_length=30)
    events: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    duration_count: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    duration_sum: float = Field(default=0.0, sa_column=Column(Float, nullable=False))
    tokens: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    cost_usd: float = Field(default=0.0, sa_column=Column(Float, nullable=False))
    value: float = Field(default=0.0, sa_column=Column(Float, nullable=False))


class AnalyticsDaily(SQLModel, table=True):
    """``AnalyticsHourly`` per UTC day: what day and week buckets over long ranges read for their whole days."""

    __tablename__ = "analytics_daily"
    __table_args__ = (Index("ux_analytics_daily_type_day_key", "type", "day", "key", unique=True),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"),
                                                          primary_key=True, autoincrement=True))
    day: datetime = Field(sa_type=UTCDateTime, nullable=False)
    type: str = Field(max_length=40)
    key: str = Field(sa_column=Column(String(400), nullable=False))
    workflow_id: int | None = None
    status: str | None = Field(default=None, max_length=20)
    provider: str | None = Field(default=None, max_length=30)
    model: str | None = Field(default=None, max_length=100)
    channel: str | None = Field(default=None, max_length=30)
    events: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    duration_count: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    duration_sum: float = Field(default=0.0, sa_column=Column(Float, nullable=False))
    tokens: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    cost_usd: float = Field(default=0.0, sa_column=Column(Float, nullable=False))
    value: float = Field(default=0.0, sa_column=Column(Float, nullable=False))


class AnalyticsHourlyTotal(SQLModel, table=True):
    """``AnalyticsHourly`` summed over every dimension but status: the few rows the summary, and series
    not split by workflow, provider, model or channel, read. ``key`` is ``:status`` ('' for NULL)."""

    __tablename__ = "analytics_hourly_totals"

    type: str = Field(max_length=40, primary_key=True)
    hour: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    key: str = Field(sa_column=Column(String(40), primary_key=True))
    status: str | None = Field(default=None, max_length=20)
    events: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    duration_count: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    duration_sum: float = Field(default=0.0, sa_column=Column(Float, nullable=False))
    tokens: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    cost_usd: float = Field(default=0.0, sa_column=Column(Float, nullable=False))
    value: float = Field(default=0.0, sa_column=Column(Float, nullable=False))


class AnalyticsHourlyDuration(SQLModel, table=True):
    """A log-scale histogram of durations per UTC hour and type: how many, and their sum, per bucket.

    Bucket 0 holds durations below 1 ms; bucket ``b >= 1`` holds ``[2**((b-1)/8), 2**(b/8))`` ms
    (eight buckets per doubling, so a bucket spans 9.05 %).
    """

    __tablename__ = "analytics_hourly_durations"

    type: str = Field(max_length=40, primary_key=True)
    hour: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    bucket: int = Field(sa_column=Column(SmallInteger, primary_key=True, autoincrement=False))
    count: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    total: float = Field(default=0.0, sa_column=Column(Float, nullable=False))


class AnalyticsActiveHour(SQLModel, table=True):
    """Users with activity (a sign-in, a workflow edit, a run, an AI call) in a UTC hour."""

    __tablename__ = "analytics_active_hours"

    hour: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    user_id: uuid.UUID = Field(sa_column=Column(Uuid, primary_key=True))


class AnalyticsActiveDay(SQLModel, table=True):
    """Users with activity in a UTC day (the same events as ``AnalyticsActiveHour``)."""

    __tablename__ = "analytics_active_days"

    day: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    user_id: uuid.UUID = Field(sa_column=Column(Uuid, primary_key=True))


class ReportFrequency(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"


class AnalyticsReportSubscription(SQLModel, table=True):
    """A user's scheduled analytics report: how often, and when it is next due (claimed by compare-and-set)."""

    __tablename__ = "analytics_report_subscriptions"

    user_id: uuid.UUID = Field(primary_key=True, foreign_key="users.id", ondelete="CASCADE")
    frequency: str = Field(max_length=10)
    next_send_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    last_sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
