"""The overview's account figures come from the database."""

from __future__ import annotations

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from models.user import UserCreate
from services import errors
from services.auth import service as auth
from services.auth.activity import account_overview

PASSWORD = "amber-falcon-lantern-42"


async def test_overview_counts_accounts_sign_ins_and_failures(session: AsyncSession) -> None:
    user = await auth.register(UserCreate(email="ov@example.com", password=PASSWORD), session=session)
    await auth.register(UserCreate(email="other@example.com", password=PASSWORD), session=session)
    laptop = await auth.login("ov@example.com", PASSWORD, session=session, ip="192.0.2.1")
    await auth.login("ov@example.com", PASSWORD, session=session, ip="192.0.2.2")
    with pytest.raises(errors.AuthenticationFailed):
        await auth.login("ov@example.com", "wrong-password-77", session=session, ip="192.0.2.3")
    await auth.refresh(laptop.refresh_token, session=session)  # a rotation is still one sign-in

    overview = await account_overview(user, session=session)

    assert overview.users_total == 2
    assert overview.active_sign_ins == 2
    assert overview.failed_sign_ins_30d == 1
    assert [e.action for e in overview.recent][:2] == ["login_failed", "login"]
    assert overview.recent[0].ip == "192.0.2.3"


async def test_signing_out_lowers_the_active_count(session: AsyncSession) -> None:
    user = await auth.register(UserCreate(email="out@example.com", password=PASSWORD), session=session)
    pair = await auth.login("out@example.com", PASSWORD, session=session)
    await auth.logout(user.id, pair.refresh_token, session=session)
    assert (await account_overview(user, session=session)).active_sign_ins == 0
