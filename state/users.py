"""Settings, Users section: the admin's list of accounts, with role and active switches."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import ClassVar

import reflex as rx

from models.user import Role, UserUpdate
from services import errors
from services.auth import service as auth
from services.auth.permissions import Permission, allows
from services.db import open_session
from state.auth import AuthState
from state.errors import form_message
from state.paging import PagedList


@dataclass
class UserRow:
    id: str
    email: str
    full_name: str
    role: str
    is_active: bool
    created: str
    last_login: str


class UsersState(PagedList, AuthState):
    noun: ClassVar[tuple[str, str]] = ("user", "users")

    rows: list[UserRow] = []
    search: str = ""
    users_error: str = ""
    users_notice: str = ""
    loading: bool = False

    async def _reload(self) -> None:
        self.loading = True
        try:
            async with open_session() as session:
                actor = await self._signed_in_user(session)
                if not allows(actor.role, Permission.MANAGE_USERS):
                    self.rows, self.total = [], 0
                    return
                result = await auth.list_users(actor, session=session, offset=self.offset,
                                               limit=self.page_size, search=self.search)
        except errors.DomainError as exc:
            self.users_error = form_message(exc)
            return
        finally:
            self.loading = False
        self.rows = [UserRow(str(u.id), u.email, u.full_name, u.role.value, u.is_active,
                             u.created_at.strftime("%Y-%m-%d"),
                             u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "never")
                     for u in result.data]
        self.total = result.count

    @rx.event
    async def load(self) -> None:
        self.users_error = self.users_notice = ""
        await self._reload()

    @rx.event
    async def set_search(self, value: str) -> None:
        self.search, self.page = value, 0
        await self._reload()

    async def _update(self, user_id: str, changes: UserUpdate, done: str) -> None:
        self.users_error = self.users_notice = ""
        try:
            async with open_session() as session:
                actor = await self._signed_in_user(session)
                updated = await auth.update_user(actor, uuid.UUID(user_id), changes, session=session,
                                                 ip=self.router.session.client_ip)
        except errors.DomainError as exc:
            self.users_error = form_message(exc)
        else:
            self.users_notice = f"{updated.email}: {done}."
        await self._reload()

    @rx.event
    async def change_role(self, user_id: str, role: str) -> None:
        if role not in {r.value for r in Role}:
            self.users_error = f"'{role}' is not a role; choose admin, editor or viewer."
            return
        await self._update(user_id, UserUpdate(role=Role(role)), f"role is now {role}")

    @rx.event
    async def set_active(self, user_id: str, active: bool) -> None:
        await self._update(user_id, UserUpdate(is_active=active), "activated" if active else "deactivated")
