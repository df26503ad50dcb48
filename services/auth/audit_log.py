"""Reading the audit log: filtered, paginated, and exported as CSV (admins only)."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.audit import AuditLog
from models.user import User
from services import errors
from services.auth.permissions import Permission, require

EXPORT_MAX_ROWS = 50_000
CSV_COLUMNS = ("time", "actor", "action", "target", "ip", "request_id", "details")


class AuditFilter(BaseModel):
    """What to look for; every field is optional and they combine with AND."""

    actor: str = Field(default="", max_length=320, description="The actor's email (part of it) or user id.")
    action: str = Field(default="", max_length=64, description="Exact action name, e.g. role_change.")
    target: str = Field(default="", max_length=255, description="Target prefix, e.g. workflow:12 or run:.")
    since: datetime | None = Field(default=None, description="At or after (ISO 8601, UTC if naive).")
    until: datetime | None = Field(default=None, description="Entries before this moment.")
    offset: int = Field(default=0, ge=0)
    limit: int = Field(default=50, ge=1, le=500)

    @field_validator("since", "until")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value

    @model_validator(mode="after")
    def _ordered_window(self) -> AuditFilter:
        if self.since and self.until and self.since >= self.until:
            raise errors.ValidationFailed("since must be earlier than until.",
                                          details=[{"field": "until", "message": "before since"}])
        return self


class AuditEntryPublic(BaseModel):
    id: uuid.UUID
    created_at: datetime
    actor_id: uuid.UUID | None
    actor_email: str | None
    action: str
    target: str
    ip: str
    request_id: str
    details: dict[str, Any]


class AuditPage(BaseModel):
    data: list[AuditEntryPublic]
    count: int


def _query(filters: AuditFilter) -> Any:  # sqlmodel's two-column Select
    query = select(AuditLog, User.email).join(User, col(User.id) == col(AuditLog.actor_id), isouter=True)
    actor = filters.actor.strip().lower()
    if actor:
        try:
            query = query.where(col(AuditLog.actor_id) == uuid.UUID(actor))
        except ValueError:
            query = query.where(col(User.email).contains(actor, autoescape=True))
    if filters.action.strip():
        query = query.where(col(AuditLog.action) == filters.action.strip())
    if filters.target.strip():
        query = query.where(col(AuditLog.target).startswith(filters.target.strip(), autoescape=True))
    if filters.since:
        query = query.where(col(AuditLog.created_at) >= filters.since)
    if filters.until:
        query = query.where(col(AuditLog.created_at) < filters.until)
    return query


def _public(entry: AuditLog, email: str | None) -> AuditEntryPublic:
    return AuditEntryPublic(id=entry.id, created_at=entry.created_at, actor_id=entry.actor_id, actor_email=email,
                            action=entry.action, target=entry.target, ip=entry.ip, request_id=entry.request_id,
                            details=entry.details)


async def get_all(actor: User, filters: AuditFilter, *, session: AsyncSession) -> AuditPage:
    """One page of entries matching ``filters``, newest first, with the total count."""
    require(actor.role, Permission.ADMINISTER)
    query = _query(filters)
    count = int((await session.exec(select(func.count()).select_from(query.subquery()))).one())
    rows = (await session.exec(query.order_by(col(AuditLog.created_at).desc(), col(AuditLog.id))
                               .offset(filters.offset).limit(filters.limit))).all()
    return AuditPage(data=[_public(entry, email) for entry, email in rows], count=count)


async def get_actions(actor: User, *, session: AsyncSession) -> list[str]:
    """Every action name recorded so far (the filter's choices)."""
    require(actor.role, Permission.ADMINISTER)
    rows = await session.exec(select(AuditLog.action).distinct().order_by(col(AuditLog.action)))
    return list(rows.all())


async def export_csv(actor: User, filters: AuditFilter, *, session: AsyncSession) -> str:
    """Every entry matching ``filters`` (newest first, at most ``EXPORT_MAX_ROWS``) as CSV text."""
    require(actor.role, Permission.ADMINISTER)
    rows = (await session.exec(_query(filters).order_by(col(AuditLog.created_at).desc())
                               .limit(EXPORT_MAX_ROWS))).all()
    return "".join(_csv_lines(_public(entry, email) for entry, email in rows))


def _csv_lines(entries: Iterator[AuditEntryPublic]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for e in entries:
        writer.writerow([e.created_at.isoformat(), e.actor_email or (str(e.actor_id) if e.actor_id else ""),
                         e.action, csv_safe(e.target), e.ip, e.request_id, csv_safe(json.dumps(e.details))])
    yield buffer.getvalue()


def csv_safe(text: str) -> str:
    """Defuse spreadsheet formulas (CSV injection): a cell starting with = + - @ is read as text."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
