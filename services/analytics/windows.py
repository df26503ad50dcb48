"""Time windows and buckets: what ``time_range=week`` or ``bucket=hour`` mean, always in UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Integer, cast, func
from sqlalchemy.sql.elements import ColumnElement

from models.base import utcnow
from services import errors

TimeRange = Literal["hour", "day", "week", "month", "custom"]
Bucket = Literal["hour", "day", "week"]
RANGE_LENGTH: dict[str, timedelta] = {"hour": timedelta(hours=1), "day": timedelta(days=1),
                                      "week": timedelta(days=7), "month": timedelta(days=30)}
BUCKET_LENGTH: dict[str, timedelta] = {"hour": timedelta(hours=1), "day": timedelta(days=1),
                                       "week": timedelta(days=7)}
MAX_BUCKETS = 5000


@dataclass(frozen=True)
class Window:
    """``[start, end)`` in UTC."""

    start: datetime
    end: datetime

    def previous(self) -> Window:
        """The window of the same length just before this one."""
        return Window(self.start - (self.end - self.start), self.start)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def resolve_window(time_range: TimeRange, *, start: datetime | None = None, end: datetime | None = None,
                   now: datetime | None = None) -> Window:
    """The window a ``time_range`` names, ending now; ``custom`` takes ``from``/``to`` (naive means UTC)."""
    if time_range != "custom":
        if start is not None or end is not None:
            raise errors.ValidationFailed("'from' and 'to' go with time_range=custom only.",
                                          details=[{"field": "from" if start is not None else "to",
                                                    "message": "only with time_range=custom"}])
        finish = _utc(now or utcnow())
        return Window(finish - RANGE_LENGTH[time_range], finish)
    if start is None or end is None:
        missing = "from" if start is None else "to"
        raise errors.ValidationFailed(f"time_range=custom needs '{missing}' (an ISO date-time).",
                                      details=[{"field": missing, "message": "required with time_range=custom"}])
    window = Window(_utc(start), _utc(end))
    if window.start >= window.end:
        raise errors.ValidationFailed("'from' must be before 'to'.",
                                      details=[{"field": "from", "message": "must be before 'to'"}])
    return window


def truncate(moment: datetime, bucket: Bucket) -> datetime:
    """The start of the UTC bucket holding ``moment`` (weeks start on Monday, as ``date_trunc`` has it)."""
    moment = _utc(moment).replace(minute=0, second=0, microsecond=0)
    if bucket == "hour":
        return moment
    moment = moment.replace(hour=0)
    return moment if bucket == "day" else moment - timedelta(days=moment.weekday())


def bucket_starts(window: Window, bucket: Bucket) -> list[datetime]:
    """Every bucket that overlaps the window, oldest first; refuses more than ``MAX_BUCKETS``."""
    step = BUCKET_LENGTH[bucket]
    first = truncate(window.start, bucket)
    count = int((window.end - first) / step) + 1
    if count > MAX_BUCKETS:
        raise errors.ValidationFailed(
            f"That is {count} {bucket} buckets (at most {MAX_BUCKETS}); choose a larger bucket or a shorter range.",
            details=[{"field": "bucket", "message": "too many buckets for this time range"}])
    return [start for start in (first + step * i for i in range(count)) if start < window.end]


def bucket_key(column: Any, bucket: Bucket, dialect: str) -> ColumnElement[str]:
    """SQL for the ISO text of the UTC bucket start (``2026-11-27T13:00:00``): one builder for both databases."""
    if dialect == "postgresql":
        return func.to_char(func.date_trunc(bucket, func.timezone("UTC", column)), 'YYYY-MM-DD"T"HH24:MI:SS')
    if bucket == "hour":
        return func.strftime("%Y-%m-%dT%H:00:00", column)
    if bucket == "day":
        return func.strftime("%Y-%m-%dT00:00:00", column)
    # SQLite has no week truncation: step back to Monday ('%w' counts from Sunday = 0).
    days_back = (cast(func.strftime("%w", column), Integer) + 6) % 7
    return func.strftime("%Y-%m-%dT00:00:00", column, func.printf("-%d days", days_back))


def parse_bucket_key(key: str) -> datetime:
    return datetime.fromisoformat(key).replace(tzinfo=UTC)
