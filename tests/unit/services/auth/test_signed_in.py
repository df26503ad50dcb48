"""The signed-in user's row is remembered a few seconds, and forgotten by every change that decides a sign-in."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import col, update
from sqlmodel.ext.asyncio.session import AsyncSession

from models.user import Role, User, UserCreate, UserUpdate
from services import errors
from services.auth import service as auth
from services.auth.tokens import AccessClaims, decode_access_token
from services.settings import get_settings

PASSWORD = "amber-falcon-lantern-42"


@pytest.fixture(autouse=True)
def _short_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH_USER_CACHE_SECONDS", "0.5")
    get_settings.cache_clear()


async def _signed_in(session: AsyncSession, email: str) -> AccessClaims:
    await auth.register(UserCreate(email=email, password=PASSWORD), session=session)
    return decode_access_token((await auth.login(email, PASSWORD, session=session)).access_token)


async def _demote_behind_the_services_back(session: AsyncSession, user: User) -> None:
    await session.exec(update(User).where(col(User.id) == user.id).values(role=Role.VIEWER))  # type: ignore[call-overload]
    await session.commit()


async def test_the_row_is_reused_for_its_seconds_then_read_again(session: AsyncSession) -> None:
    claims = await _signed_in(session, "ada@example.com")
    user = await auth.authenticate(claims, session=session)
    assert user.role == Role.ADMIN
    await _demote_behind_the_services_back(session, user)
    assert (await auth.authenticate(claims, session=session)).role == Role.ADMIN  # remembered
    await asyncio.sleep(0.6)
    assert (await auth.authenticate(claims, session=session)).role == Role.VIEWER


async def test_without_the_setting_every_request_reads_the_row(session: AsyncSession,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH_USER_CACHE_SECONDS", "0")
    get_settings.cache_clear()
    claims = await _signed_in(session, "ada@example.com")
    user = await auth.authenticate(claims, session=session)
    await _demote_behind_the_services_back(session, user)
    assert (await auth.authenticate(claims, session=session)).role == Role.VIEWER


async def test_a_remembered_row_carries_no_password_hash(session: AsyncSession) -> None:
    claims = await _signed_in(session, "ada@example.com")
    await auth.authenticate(claims, session=session)
    remembered = await auth.authenticate(claims, session=session)
    assert remembered.password_hash == "" and remembered.email == "ada@example.com"
    assert remembered.id == claims.user_id and remembered.created_at is not None


async def test_role_changes_deactivation_and_signing_out_everywhere_apply_at_once(session: AsyncSession) -> None:
    admin_claims = await _signed_in(session, "admin@example.com")
    admin = await auth.authenticate(admin_claims, session=session)
    claims = await _signed_in(session, "bo@example.com")
    assert (await auth.authenticate(claims, session=session)).role == Role.VIEWER
    await auth.update_user(admin, claims.user_id, UserUpdate(role=Role.EDITOR), session=session)
    assert (await auth.authenticate(claims, session=session)).role == Role.EDITOR
    await auth.logout(claims.user_id, None, session=session)
    with pytest.raises(errors.AuthenticationFailed, match="signed out everywhere"):
        await auth.authenticate(claims, session=session)
    fresh = decode_access_token((await auth.login("bo@example.com", PASSWORD, session=session)).access_token)
    assert (await auth.authenticate(fresh, session=session)).role == Role.EDITOR
    await auth.update_user(admin, claims.user_id, UserUpdate(is_active=False), session=session)
    with pytest.raises(errors.AuthenticationFailed, match="no longer active"):
        await auth.authenticate(fresh, session=session)


def test_a_remembered_row_is_usable_in_a_process_that_made_no_user_yet() -> None:
    """A fresh server process may answer from the cache before its mappers were ever configured."""
    script = (
        "import uuid\n"
        "from services.auth.signed_in import _user\n"
        "user = _user({'id': str(uuid.uuid4()), 'email': 'a@example.com', 'full_name': 'A', 'role': 'editor',\n"
        "              'is_active': True, 'token_generation': 3, 'created_at': '2026-01-01T00:00:00+00:00',\n"
        "              'updated_at': '2026-01-02T00:00:00+00:00', 'last_login_at': None})\n"
        "print(user.is_active, user.role.value, user.token_generation, user.created_at.year,\n"
        "      user.password_hash == '')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[4],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "editor", "3", "2026", "True"]
