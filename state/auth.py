"""Who is signed in to this browser tab.

The refresh token lives in a SameSite=Strict, Secure cookie so that a new tab or a server restart
can resume the sign-in (Reflex sets cookies from the page, so it cannot be HttpOnly); the
short-lived access token never leaves the server (a backend-only var). Every event that needs
the user resolves it through ``_signed_in_user``, which applies the same checks as the API
(token, active account, role from the database).
"""

from __future__ import annotations

from urllib.parse import quote

import reflex as rx
from sqlmodel.ext.asyncio.session import AsyncSession

from models.user import Role, User, UserCreate
from services import errors
from services.analytics.hooks import record_page_view
from services.auth import service as auth
from services.auth.permissions import Permission, allows
from services.auth.tokens import decode_access_token
from services.db import open_read_session, open_session
from services.observability.context import bind_request, new_request_id
from services.settings import get_settings
from state.errors import field_errors, form_message

_settings = get_settings()
# The UI hides what the service would refuse; the service's `require` still decides.
_ROLES_THAT_MANAGE_USERS = frozenset(r.value for r in Role if allows(r, Permission.MANAGE_USERS))


def _safe_next(target: str) -> str:
    """Only same-site paths: never an open redirect to another origin."""
    if target.startswith("/") and not target.startswith("//") and not target.startswith("/login"):
        return target
    return "/"


class AuthState(rx.State):
    """The signed-in user of this tab, and the login and register forms."""

    session_cookie: str = rx.Cookie("", name="dwc_session", max_age=_settings.refresh_token_days * 86400,
                                    secure=_settings.secure_cookies, same_site="strict")
    _access_token: str = ""
    user_id: str = ""
    user_email: str = ""
    user_name: str = ""
    user_role: str = ""
    form_error: str = ""
    form_notice: str = ""
    errors_by_field: dict[str, str] = {}
    submitting: bool = False
    _form_page: str = ""  # the page whose form the messages above answer

    @rx.var
    def signed_in(self) -> bool:
        return self.user_id != ""

    @rx.var
    def can_manage_users(self) -> bool:
        return self.user_role in _ROLES_THAT_MANAGE_USERS

    @rx.var
    def display_name(self) -> str:
        return self.user_name or self.user_email

    @rx.var
    def initials(self) -> str:
        words = (self.user_name or self.user_email).replace("@", " ").split()
        return "".join(w[0] for w in words[:2]).upper() or "?"

    async def _signed_in_user(self, session: AsyncSession) -> User:
        """The user behind this tab, refreshing the access token from the cookie when needed.

        Binds a fresh request id and the tab's IP for the event, so audit entries and logs carry them.
        """
        bind_request(new_request_id(), self.router.session.client_ip)
        try:
            claims = decode_access_token(self._access_token)
        except errors.AuthenticationFailed as exc:
            if not self.session_cookie:  # a visitor who never signed in: nothing to look up
                raise errors.AuthenticationFailed("Sign in to continue.") from exc
            async with open_session() as writer:  # rotating the refresh token writes and commits on its own
                pair = await auth.refresh(self.session_cookie, session=writer, ip=self.router.session.client_ip)
            self._access_token, self.session_cookie = pair.access_token, pair.refresh_token
            claims = decode_access_token(pair.access_token)
        user = await auth.authenticate(claims, session=session)
        self._show(user)
        return user

    def _show(self, user: User) -> None:
        self.user_id, self.user_email = str(user.id), user.email
        self.user_name, self.user_role = user.full_name, user.role.value

    def _forget(self) -> None:
        self._access_token = self.session_cookie = ""
        self.user_id = self.user_email = self.user_name = self.user_role = ""

    def _start_form(self) -> None:
        self.form_error, self.form_notice, self.errors_by_field = "", "", {}
        self._form_page = self.router.url.path

    def _fail_form(self, exc: Exception) -> None:
        self.form_error, self.errors_by_field, self.submitting = form_message(exc), field_errors(exc), False

    @rx.event
    async def require_login(self) -> rx.event.EventSpec | None:
        """on_load of every protected page: resolve the user or send them to sign in."""
        try:
            async with open_read_session() as session:
                user = await self._signed_in_user(session)
        except errors.DomainError:
            self._forget()
            return rx.redirect(f"/login?next={quote(self.router.url.path or '/')}")
        record_page_view(user.id, self.router.url.path or "/")
        return None

    @rx.event
    async def open_login_page(self) -> rx.event.EventSpec | None:
        """on_load of /login and /register: signed-in users go straight in.

        Messages left by the other page's form are cleared; this page's own are kept: a form sent
        before the page finished loading is answered before this on_load runs (Reflex queues the
        page's on_load events behind it), and its inline errors must not be wiped.
        """
        if self._form_page != self.router.url.path:
            self._start_form()
        if self.router.url.query_parameters.get("registered"):
            self.form_notice = "Your account is ready. Sign in to continue."
        try:
            async with open_read_session() as session:
                await self._signed_in_user(session)
        except errors.DomainError:
            return None
        return rx.redirect(_safe_next(self.router.url.query_parameters.get("next", "/")))

    @rx.event
    async def sign_in(self, form: dict[str, str]):  # type: ignore[no-untyped-def]
        """Check the credentials; on success go where the user was headed."""
        self._start_form()
        self.submitting = True
        yield
        try:
            async with open_session() as session:
                pair = await auth.login(form.get("email", ""), form.get("password", ""), session=session,
                                        ip=self.router.session.client_ip)
                self._access_token, self.session_cookie = pair.access_token, pair.refresh_token
                await self._signed_in_user(session)
        except errors.DomainError as exc:
            self._fail_form(exc)
            return
        self.submitting = False
        yield rx.redirect(_safe_next(self.router.url.query_parameters.get("next", "/")))

    @rx.event
    async def register(self, form: dict[str, str]):  # type: ignore[no-untyped-def]
        """Create the account, then send the user to sign in."""
        self._start_form()
        self.submitting = True
        yield
        try:
            data = UserCreate(email=form.get("email", ""), password=form.get("password", ""),
                              full_name=form.get("full_name", ""))
            async with open_session() as session:
                await auth.register(data, session=session, ip=self.router.session.client_ip)
        except (errors.DomainError, ValueError) as exc:
            self._fail_form(exc)
            return
        self.submitting = False
        yield rx.redirect(f"/login?registered=1&email={quote(str(data.email))}")

    @rx.event
    async def sign_out(self) -> rx.event.EventSpec:
        """End this sign-in everywhere it is known (its refresh-token family)."""
        try:
            async with open_session() as session:
                user = await self._signed_in_user(session)
                await auth.logout(user.id, self.session_cookie, session=session, ip=self.router.session.client_ip)
        except errors.DomainError:
            pass  # nothing left to end on the server: the sign-in had already expired or been revoked
        self._forget()
        return rx.redirect("/login")
