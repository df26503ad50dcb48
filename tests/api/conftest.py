"""httpx clients on the real ASGI API: ``client`` joins the test's rolled-back transaction; ``live`` commits to a
real database (``live_db``), for work that opens its own sessions (runs, AI usage rows)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from sqlalchemy import update
from sqlmodel.ext.asyncio.session import AsyncSession

from dashboard.api.app import create_api
from dashboard.api.deps import get_session
from models.user import Role, User
from services.db import open_session

PASSWORD = "amber-falcon-lantern-42"
Headers = dict[str, str]


@pytest.fixture
async def client(session: AsyncSession) -> AsyncIterator[httpx.AsyncClient]:
    api = create_api()

    async def _test_session() -> AsyncIterator[AsyncSession]:
        yield session

    api.dependency_overrides[get_session] = _test_session
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
def sign_up(client: httpx.AsyncClient) -> Callable[[str], Awaitable[Headers]]:
    """Register ``email`` and return the headers of its signed-in session."""

    async def _sign_up(email: str) -> Headers:
        created = await client.post("/api/v3/auth/register", json={"email": email, "password": PASSWORD})
        assert created.status_code == 201, created.text
        login = await client.post("/api/v3/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        return {"Authorization": f"Bearer {login.json()['access_token']}"}

    return _sign_up


@pytest.fixture
async def live(live_db: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_api()), base_url="http://t") as http:
        yield http


async def account(http: httpx.AsyncClient, email: str, role: Role) -> Headers:
    """Register ``email`` on a ``live`` client, give it ``role``, and return its signed-in headers."""
    assert (await http.post("/api/v3/auth/register", json={"email": email, "password": PASSWORD})).status_code == 201
    async with open_session() as session:
        await session.exec(update(User).where(User.email == email).values(role=role))  # type: ignore[call-overload]
        await session.commit()
    token = (await http.post("/api/v3/auth/login", json={"email": email, "password": PASSWORD})).json()
    return {"Authorization": f"Bearer {token['access_token']}"}
