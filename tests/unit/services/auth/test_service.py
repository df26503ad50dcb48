"""The auth service on SQLite and PostgreSQL: accounts, sign-in, rotation, roles, audit."""

from __future__ import annotations

import pytest
from argon2 import extract_parameters
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.audit import AuditLog
from models.user import Role, User, UserCreate, UserUpdate
from services import errors
from services.auth import service as auth
from services.auth.tokens import decode_access_token

PASSWORD = "amber-falcon-lantern-42"


async def _register(session: AsyncSession, email: str, password: str = PASSWORD) -> User:
    return await auth.register(UserCreate(email=email, password=password, full_name="Test Person"), session=session)


async def _actions(session: AsyncSession) -> list[str]:
    rows = await session.exec(select(AuditLog).order_by(AuditLog.created_at))  # type: ignore[arg-type]
    return [row.action for row in rows]


async def test_first_account_is_admin_and_later_ones_are_viewers(session: AsyncSession) -> None:
    first = await _register(session, "first@example.com")
    second = await _register(session, "second@example.com")
    assert (first.role, second.role) == (Role.ADMIN, Role.VIEWER)


async def test_email_is_unique_regardless_of_case(session: AsyncSession) -> None:
    await _register(session, "Ada@Example.com")
    with pytest.raises(errors.Conflict):
        await _register(session, "ada@EXAMPLE.com")
    assert (await auth.get_by_email("ADA@example.COM", session=session)) is not None


@pytest.mark.parametrize("weak", ["short1!", "aaaaaaaaaaaa", "password123", "1234567890", "abcabcabcabc",
                                  "qwertyuiop"])
async def test_weak_passwords_are_refused_with_the_field_named(session: AsyncSession, weak: str) -> None:
    with pytest.raises(errors.ValidationFailed) as caught:
        await _register(session, "weak@example.com", weak)
    assert caught.value.details[0]["field"] == "password"
    assert await auth.count_users(session=session) == 0


async def test_password_built_from_the_email_is_refused(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationFailed):
        await _register(session, "margaret@example.com", "margaret-2024")


async def test_hashes_are_argon2id_at_or_above_owasp_minimum(session: AsyncSession) -> None:
    user = await _register(session, "hash@example.com")
    params = extract_parameters(user.password_hash)
    assert user.password_hash.startswith("$argon2id$")
    assert params.memory_cost >= 19 * 1024 and params.time_cost >= 2 and params.parallelism == 1
    assert PASSWORD not in user.password_hash


async def test_login_issues_tokens_naming_user_and_role(session: AsyncSession) -> None:
    user = await _register(session, "login@example.com")
    pair = await auth.login("LOGIN@example.com", PASSWORD, session=session, ip="10.0.0.1")
    claims = decode_access_token(pair.access_token)
    assert (claims.user_id, claims.role) == (user.id, Role.ADMIN)
    assert pair.expires_in == 15 * 60 and pair.refresh_token != pair.access_token
    assert (await session.get(User, user.id)).last_login_at is not None  # type: ignore[union-attr]


async def test_wrong_password_and_unknown_email_fail_alike(session: AsyncSession) -> None:
    await _register(session, "alike@example.com")
    with pytest.raises(errors.AuthenticationFailed) as wrong:
        await auth.login("alike@example.com", "not-the-password-1", session=session)
    with pytest.raises(errors.AuthenticationFailed) as unknown:
        await auth.login("nobody@example.com", PASSWORD, session=session)
    assert wrong.value.message == unknown.value.message
    assert (await _actions(session)).count("login_failed") == 2


async def test_five_failures_lock_the_email_and_ip_pair(session: AsyncSession) -> None:
    await _register(session, "locked@example.com")
    for _ in range(5):
        with pytest.raises(errors.AuthenticationFailed):
            await auth.login("locked@example.com", "wrong-password-xyz", session=session, ip="1.2.3.4")
    with pytest.raises(errors.RateLimited) as limited:
        await auth.login("locked@example.com", PASSWORD, session=session, ip="1.2.3.4")
    assert 0 < limited.value.retry_after <= 15 * 60
    # Another IP is not blocked by someone else's failures.
    assert (await auth.login("locked@example.com", PASSWORD, session=session, ip="5.6.7.8")).access_token


async def test_refresh_rotates_and_reuse_revokes_the_family(session: AsyncSession) -> None:
    await _register(session, "rotate@example.com")
    first = await auth.login("rotate@example.com", PASSWORD, session=session)
    second = await auth.refresh(first.refresh_token, session=session)
    assert second.refresh_token != first.refresh_token
    with pytest.raises(errors.AuthenticationFailed, match="already used"):
        await auth.refresh(first.refresh_token, session=session)
    # The thief's replay ended the legitimate holder's session too.
    with pytest.raises(errors.AuthenticationFailed):
        await auth.refresh(second.refresh_token, session=session)
    assert "refresh_reuse" in await _actions(session)


async def test_logout_revokes_that_sign_in_only(session: AsyncSession) -> None:
    user = await _register(session, "logout@example.com")
    laptop = await auth.login("logout@example.com", PASSWORD, session=session)
    phone = await auth.login("logout@example.com", PASSWORD, session=session)
    await auth.logout(user.id, laptop.refresh_token, session=session)
    with pytest.raises(errors.AuthenticationFailed):
        await auth.refresh(laptop.refresh_token, session=session)
    assert (await auth.refresh(phone.refresh_token, session=session)).access_token


async def test_deactivated_users_cannot_sign_in_or_refresh(session: AsyncSession) -> None:
    admin = await _register(session, "boss@example.com")
    other = await _register(session, "gone@example.com")
    pair = await auth.login("gone@example.com", PASSWORD, session=session)
    await auth.update_user(admin, other.id, UserUpdate(is_active=False), session=session)
    with pytest.raises(errors.AuthenticationFailed, match="deactivated"):
        await auth.login("gone@example.com", PASSWORD, session=session)
    with pytest.raises(errors.AuthenticationFailed):
        await auth.refresh(pair.refresh_token, session=session)


async def test_only_admins_manage_users_and_role_changes_are_audited(session: AsyncSession) -> None:
    admin = await _register(session, "admin@example.com")
    viewer = await _register(session, "viewer@example.com")
    with pytest.raises(errors.PermissionDenied):
        await auth.list_users(viewer, session=session)
    with pytest.raises(errors.PermissionDenied):
        await auth.update_user(viewer, admin.id, UserUpdate(role=Role.VIEWER), session=session)
    promoted = await auth.update_user(admin, viewer.id, UserUpdate(role=Role.EDITOR), session=session)
    assert promoted.role == Role.EDITOR
    page = await auth.list_users(admin, session=session, limit=1)
    assert page.count == 2 and len(page.data) == 1
    audit = (await session.exec(select(AuditLog).where(AuditLog.action == "role_change"))).one()
    assert audit.actor_id == admin.id and audit.details == {"from": "viewer", "to": "editor"}


async def test_the_last_admin_cannot_be_demoted(session: AsyncSession) -> None:
    admin = await _register(session, "solo@example.com")
    with pytest.raises(errors.Conflict):
        await auth.update_user(admin, admin.id, UserUpdate(role=Role.VIEWER), session=session)


async def test_user_search_matches_email_and_name(session: AsyncSession) -> None:
    admin = await _register(session, "root@example.com")
    await _register(session, "grace.hopper@example.com")
    found = await auth.list_users(admin, session=session, search="HOPPER")
    assert [u.email for u in found.data] == ["grace.hopper@example.com"]


async def test_register_login_and_logout_are_audited(session: AsyncSession) -> None:
    user = await _register(session, "audit@example.com")
    pair = await auth.login("audit@example.com", PASSWORD, session=session, ip="192.0.2.7")
    await auth.logout(user.id, pair.refresh_token, session=session, ip="192.0.2.7")
    assert await _actions(session) == ["register", "login", "logout"]


async def test_the_database_refuses_a_mixed_case_email(session: AsyncSession) -> None:
    from sqlalchemy.exc import IntegrityError

    session.add(User(email="Mixed@Example.com", password_hash="x"))
    with pytest.raises(IntegrityError):
        await session.flush()
