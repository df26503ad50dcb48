"""Per-user notification preferences: opt-outs per category and channel, quiet hours in the user's zone.

A rule names a category and a channel, either of which may be ``*``; the most specific rule wins
(category+channel, then category, then channel, then ``*``/``*``). Quiet hours delay everything but
urgent notifications until the window ends in the user's time zone. A rule in digest mode holds the
low-priority notifications it matches for the periodic digest (``services.notifications.digest``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.base import utcnow
from models.notification import ANY, NotificationPreference, Priority
from models.user import User
from services import errors
from services.auth.audit import record_audit

OPTED_OUT = "recipient opted out"
HELD_FOR_DIGEST = "held for the recipient's digest"
_HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


class PreferenceRule(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)

    category: str = Field(default=ANY, min_length=1, max_length=50)
    channel: str = Field(default=ANY, min_length=1, max_length=30)
    enabled: bool = True
    digest: bool = False


class QuietHours(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: str = Field(pattern=_HHMM, description="HH:MM, local time")
    end: str = Field(pattern=_HHMM)
    timezone: str = Field(default="UTC", max_length=64)


class Preferences(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[PreferenceRule] = Field(default_factory=list, max_length=200)
    quiet_hours: QuietHours | None = None


@dataclass(frozen=True)
class Decision:
    """What the preferences say about one send: refuse it, hold it until ``not_before``, or hold it for the digest."""

    allowed: bool = True
    reason: str | None = None
    not_before: datetime | None = None
    digest: bool = False


def _specificity(rule: NotificationPreference) -> int:
    return (rule.category != ANY) * 2 + (rule.channel != ANY)


def quiet_until(quiet: QuietHours, now: datetime) -> datetime | None:
    """The end of the quiet window ``now`` falls in (UTC), or None when ``now`` is outside it."""
    zone = ZoneInfo(quiet.timezone)
    local = now.astimezone(zone)
    start, end = time.fromisoformat(quiet.start), time.fromisoformat(quiet.end)
    if start == end:
        return None
    today_end = datetime.combine(local.date(), end, zone)
    if start < end:  # e.g. 13:00-14:00
        inside = start <= local.time() < end
        return today_end.astimezone(now.tzinfo) if inside else None
    if local.time() >= start:  # e.g. 22:00-07:00, now 23:00: ends tomorrow
        return (datetime.combine(local.date() + timedelta(days=1), end, zone)).astimezone(now.tzinfo)
    if local.time() < end:  # now 06:00: ends today
        return today_end.astimezone(now.tzinfo)
    return None


def decide(rows: Iterable[NotificationPreference], *, category: str, channel: str, priority: Priority,
           now: datetime, allow_digest: bool = True) -> Decision:
    """Apply one user's preference rows to a send (``allow_digest`` False: the digest itself)."""
    rows = list(rows)
    matching = [r for r in rows if r.category in (ANY, category) and r.channel in (ANY, channel)]
    rule = max(matching, key=_specificity) if matching else None
    if rule is not None and not rule.enabled:
        return Decision(allowed=False, reason=OPTED_OUT)
    if priority is Priority.URGENT:
        return Decision()
    # Only low priority is batched: a normal or high notification is news the user asked to get at once.
    if allow_digest and priority is Priority.LOW and rule is not None and rule.digest:
        return Decision(digest=True)
    for row in rows:
        if row.category == ANY and row.channel == ANY and row.quiet_start and row.quiet_end:
            quiet = QuietHours(start=row.quiet_start, end=row.quiet_end, timezone=row.timezone or "UTC")
            return Decision(not_before=quiet_until(quiet, now))
    return Decision()


async def decide_many(user_ids: Iterable[uuid.UUID], *, category: str, channel: str, priority: Priority,
                      session: AsyncSession, now: datetime | None = None,
                      allow_digest: bool = True) -> dict[uuid.UUID, Decision]:
    """A decision per user who has preferences (users without any get the default: send now)."""
    ids = set(user_ids)
    if not ids:
        return {}
    rows = (await session.exec(select(NotificationPreference).where(
        col(NotificationPreference.user_id).in_(ids)))).all()
    by_user: dict[uuid.UUID, list[NotificationPreference]] = {}
    for row in rows:
        by_user.setdefault(row.user_id, []).append(row)
    moment = now or utcnow()
    return {user_id: decide(user_rows, category=category, channel=channel, priority=priority, now=moment,
                            allow_digest=allow_digest)
            for user_id, user_rows in by_user.items()}


async def get(actor: User, *, session: AsyncSession) -> Preferences:
    """The caller's own preferences."""
    rows = (await session.exec(select(NotificationPreference).where(
        col(NotificationPreference.user_id) == actor.id))).all()
    quiet = None
    rules = []
    for row in rows:
        if row.category == ANY and row.channel == ANY and row.quiet_start and row.quiet_end:
            quiet = QuietHours(start=row.quiet_start, end=row.quiet_end, timezone=row.timezone or "UTC")
        rules.append(PreferenceRule.model_validate(row))
    return Preferences(rules=sorted(rules, key=lambda r: (r.category, r.channel)), quiet_hours=quiet)


async def put(actor: User, data: Preferences, *, session: AsyncSession) -> Preferences:
    """Replace the caller's preferences with ``data``."""
    if data.quiet_hours is not None:
        try:
            ZoneInfo(data.quiet_hours.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise errors.ValidationFailed(f"quiet_hours.timezone: unknown time zone {data.quiet_hours.timezone!r}.",
                                          details=[{"field": "quiet_hours.timezone", "message": "unknown"}]) from exc
    keys = [(r.category, r.channel) for r in data.rules]
    if len(set(keys)) != len(keys):
        raise errors.ValidationFailed("rules: each (category, channel) may appear once.",
                                      details=[{"field": "rules", "message": "duplicate category and channel"}])
    await session.exec(delete(NotificationPreference).where(col(NotificationPreference.user_id) == actor.id))
    rows = {(r.category, r.channel): NotificationPreference(user_id=actor.id, **r.model_dump()) for r in data.rules}
    if data.quiet_hours is not None:
        row = rows.setdefault((ANY, ANY), NotificationPreference(user_id=actor.id))
        row.quiet_start, row.quiet_end = data.quiet_hours.start, data.quiet_hours.end
        row.timezone = data.quiet_hours.timezone
    session.add_all(rows.values())
    record_audit(session, "notification_preferences_changed", actor_id=actor.id, target=f"user:{actor.id}",
                 details={"rules": len(data.rules), "quiet_hours": data.quiet_hours is not None})
    await session.commit()
    return await get(actor, session=session)
