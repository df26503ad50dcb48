"""API quotas per route family: headers on every answer, 429 past the limit, per user or per IP, shared via Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from dashboard.api.app import create_api
from dashboard.api.deps import get_session
from dashboard.api.rate_limits import route_family
from tests.api.conftest import PASSWORD, Headers
from tests.settings_env import configure

SignUp = Callable[[str], Awaitable[Headers]]


@pytest.mark.parametrize(("method", "path", "family"), [
    ("POST", "/api/v3/auth/login", "auth"),
    ("POST", "/api/v3/auth/register", "auth"),
    ("GET", "/api/v3/auth/me", "reads"),
    ("GET", "/api/v3/workflows", "reads"),
    ("POST", "/api/v3/workflows", "writes"),
    ("PATCH", "/api/v3/auth/users/1", "writes"),
    ("POST", "/api/v3/workflows/7/execute", "execute"),
    ("POST", "/api/v3/runs/abc/cancel", "execute"),
    ("POST", "/api/v3/advanced/ai/generate", "ai"),
    ("POST", "/api/v3/hooks/secret-token", "hooks"),
    ("GET", "/api/v3/health", None),
])
def test_every_route_belongs_to_a_family(method: str, path: str, family: str | None) -> None:
    assert route_family(method, path) == family


async def test_answers_carry_quota_headers_and_the_limit_answers_429(
        client: httpx.AsyncClient, sign_up: SignUp, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, RATE_LIMIT_READS="3/minute")
    ada = await sign_up("ada@example.com")
    remaining = []
    for _ in range(3):
        answer = await client.get("/api/v3/auth/me", headers=ada)
        assert answer.status_code == 200
        assert answer.headers["RateLimit-Limit"] == "3"
        assert 0 < int(answer.headers["RateLimit-Reset"]) <= 60
        assert answer.headers["RateLimit-Policy"] == "3;w=60"
        remaining.append(int(answer.headers["RateLimit-Remaining"]))
    assert remaining == [2, 1, 0]
    refused = await client.get("/api/v3/workflows", headers=ada)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert refused.json()["error"]["code"] == "rate_limited"
    assert "retry in" in refused.json()["error"]["message"]
    # Another family is counted apart: Ada may still write.
    created = await client.post("/api/v3/workflows", headers=ada, json={"name": "Still allowed"})
    assert created.status_code == 201
    # Quotas are per user: Bob's reads are his own.
    bob = await sign_up("bob@example.com")
    assert (await client.get("/api/v3/auth/me", headers=bob)).status_code == 200


async def test_anonymous_routes_are_counted_per_ip_and_keep_the_login_failure_limiter(
        client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, RATE_LIMIT_AUTH="4/minute")
    await client.post("/api/v3/auth/register", json={"email": "eve@example.com", "password": PASSWORD})
    statuses = [(await client.post("/api/v3/auth/login", json={"email": "eve@example.com", "password": "wrong-guess-1"})
                 ).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    # The body is never read once the quota is spent, even with a correct password.
    refused = await client.post("/api/v3/auth/login", json={"email": "eve@example.com", "password": PASSWORD})
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"


async def test_disabled_quotas_add_no_headers(client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, RATE_LIMIT_ENABLED="false", RATE_LIMIT_AUTH="1/minute")
    for _ in range(3):
        answer = await client.post("/api/v3/auth/register", json={"email": "x", "password": "short"})
        assert answer.status_code == 422 and "RateLimit-Limit" not in answer.headers


async def test_health_probes_are_not_counted(client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, RATE_LIMIT_READS="1/minute")
    for _ in range(3):
        assert "RateLimit-Limit" not in (await client.get("/api/v3/health")).headers


@pytest.fixture
async def second_replica(session: AsyncSession) -> AsyncIterator[httpx.AsyncClient]:
    """Another API app on the same database, as a second process would be."""
    api = create_api()

    async def _test_session() -> AsyncIterator[AsyncSession]:
        yield session

    api.dependency_overrides[get_session] = _test_session
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://replica-b") as http:
        yield http


@pytest.mark.redis
async def test_replicas_share_one_count_through_redis(
        redis_url: str, client: httpx.AsyncClient, second_replica: httpx.AsyncClient, sign_up: SignUp,
        monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, RATE_LIMIT_READS="4/minute")
    ada = await sign_up("shared@example.com")
    answers = []
    for replica in (client, second_replica, client, second_replica, client):
        answers.append(await replica.get("/api/v3/auth/me", headers=ada))
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 429]
    assert [a.headers["RateLimit-Remaining"] for a in answers[:4]] == ["3", "2", "1", "0"]
