"""Settings, Audit log section: the admin's filtered, paginated view of who did what, and its CSV export."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import reflex as rx
from pydantic import ValidationError

from services import errors
from services.auth import audit_log
from services.auth.audit_log import AuditFilter
from services.auth.permissions import Permission, allows
from services.db import open_read_session
from state.auth import AuthState
from state.errors import form_message
from state.paging import PagedList

ALL_ACTIONS = "all"


@dataclass
class AuditRow:
    id: str
    time: str
    actor: str
    action: str
    target: str
    ip: str
    request_id: str
    details: str


def _day(text: str, *, end: bool) -> datetime | None:
    """``2026-12-05`` → that day's start in UTC (or the next day's start for an inclusive end)."""
    if not text:
        return None
    day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    return day + timedelta(days=1) if end else day


class AuditState(PagedList, AuthState):
    page_size: ClassVar[int] = 25
    noun: ClassVar[tuple[str, str]] = ("entry", "entries")

    rows: list[AuditRow] = []
    actions: list[str] = []
    actor_filter: str = ""
    action_filter: str = ALL_ACTIONS
    target_filter: str = ""
    from_day: str = ""
    to_day: str = ""
    audit_error: str = ""
    loading: bool = False
    allowed: bool = True

    def _filters(self, *, paged: bool = True) -> AuditFilter:
        return AuditFilter(actor=self.actor_filter, target=self.target_filter,
                           action="" if self.action_filter == ALL_ACTIONS else self.action_filter,
                           since=_day(self.from_day, end=False), until=_day(self.to_day, end=True),
                           offset=self.offset if paged else 0, limit=self.page_size)

    async def _reload(self) -> None:
        self.loading, self.audit_error = True, ""
        try:
            filters = self._filters()
            async with open_read_session() as session:
                actor = await self._signed_in_user(session)
                self.allowed = allows(actor.role, Permission.ADMINISTER)
                if not self.allowed:
                    self.rows, self.total = [], 0
                    return
                result = await audit_log.get_all(actor, filters, session=session)
                self.actions = [ALL_ACTIONS, *await audit_log.get_actions(actor, session=session)]
        except errors.DomainError as exc:
            self.audit_error = form_message(exc)
            return
        except (ValidationError, ValueError):
            self.audit_error = "Dates look like 2026-12-31, and the first day must not be after the last."
            return
        finally:
            self.loading = False
        self.rows = [AuditRow(str(e.id), e.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                              e.actor_email or (str(e.actor_id) if e.actor_id else "system"), e.action, e.target,
                              e.ip or "—", e.request_id or "—", json.dumps(e.details)[:200] if e.details else "")
                     for e in result.data]
        self.total = result.count

    @rx.event
    async def load(self) -> None:
        self.page = 0
        await self._reload()

    @rx.event
    async def set_filter(self, name: str, value: str) -> None:
        if name not in ("actor_filter", "action_filter", "target_filter", "from_day", "to_day"):
            return
        setattr(self, name, value.strip())
        self.page = 0
        await self._reload()

    @rx.event
    async def clear_filters(self) -> None:
        self.actor_filter = self.target_filter = self.from_day = self.to_day = ""
        self.action_filter, self.page = ALL_ACTIONS, 0
        await self._reload()

    @rx.event
    async def export_csv(self) -> rx.event.EventSpec | None:
        try:
            filters = self._filters(paged=False)
            async with open_read_session() as session:
                actor = await self._signed_in_user(session)
                text = await audit_log.export_csv(actor, filters, session=session)
        except errors.DomainError as exc:
            self.audit_error = form_message(exc)
            return None
        except (ValidationError, ValueError):
            self.audit_error = "Dates look like 2026-12-31, and the first day must not be after the last."
            return None
        return rx.download(data=text, filename="audit.csv")
