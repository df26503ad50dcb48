"""The Overview page: the signed-in account and the figures that exist so far."""

from __future__ import annotations

from dataclasses import dataclass

import reflex as rx

from services import errors
from services.auth.activity import account_overview
from services.db import open_session
from state.auth import AuthState

_ACTION_LABELS = {"login": "Signed in", "logout": "Signed out", "login_failed": "Failed sign-in",
                  "register": "Account created", "role_change": "Changed a role", "refresh_reuse":
                  "Reused sign-in token blocked", "activate": "Activated a user", "deactivate": "Deactivated a user"}


@dataclass
class ActivityRow:
    action: str
    ip: str
    at: str


class OverviewState(AuthState):
    users_total: int = 0
    active_sign_ins: int = 0
    failed_sign_ins: int = 0
    recent: list[ActivityRow] = []
    loaded: bool = False

    @rx.event
    async def load(self) -> None:
        try:
            async with open_session() as session:
                user = await self._signed_in_user(session)
                data = await account_overview(user, session=session)
        except errors.DomainError:
            return
        self.users_total, self.active_sign_ins = data.users_total, data.active_sign_ins
        self.failed_sign_ins = data.failed_sign_ins_30d
        self.recent = [ActivityRow(_ACTION_LABELS.get(e.action, e.action), e.ip or "—",
                                   e.at.strftime("%Y-%m-%d %H:%M UTC")) for e in data.recent]
        self.loaded = True
