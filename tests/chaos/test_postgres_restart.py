"""A throwaway PostgreSQL restarted under API load: requests during the outage get clean 503s
within a second, nothing is half-written, and the same process recovers (pool pre-ping)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import psycopg
import pytest

from dashboard.api.app import create_api
from tests.chaos.conftest import PASSWORD, delay_chain
from tests.infra import migrate
from tests.pg_cluster import PostgresCluster, postgres_cluster

OUTAGE_ANSWER_SECONDS = 1.0


@pytest.fixture
async def database(configure: Any) -> AsyncIterator[PostgresCluster]:
    with postgres_cluster() as cluster:
        await asyncio.to_thread(migrate, cluster.url)
        await configure(DATABASE_URL=cluster.url)
        yield cluster


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_api()), base_url="http://t") as http:
        yield http


async def _signed_in(api: httpx.AsyncClient) -> dict[str, str]:
    """A new account's headers (the first account is the admin); no API call has read its row yet."""
    email = f"user-{uuid.uuid4().hex[:6]}@example.com"
    assert (await api.post("/api/v3/auth/register", json={"email": email, "password": PASSWORD})).status_code == 201
    login = await api.post("/api/v3/auth/login", json={"email": email, "password": PASSWORD})
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def _create(api: httpx.AsyncClient, headers: dict[str, str], n: int) -> Any:
    return api.post("/api/v3/workflows", headers=headers, json={"name": f"wf {n}", "graph": delay_chain(0.01)})


async def _timed(call: Any) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    answer = await asyncio.wait_for(call, 10)
    return answer, time.monotonic() - started


def _saved_workflows(url: str) -> dict[str, int]:
    """Workflow names with how many versions each has (a half-written one would have none)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT w.name, count(v.id) FROM workflows w LEFT JOIN workflow_versions v "
                            "ON v.workflow_id = w.id GROUP BY w.name").fetchall()
    return dict(rows)


async def test_requests_during_a_postgres_outage_get_quick_503s_and_the_pool_recovers(
        database: PostgresCluster, api: httpx.AsyncClient) -> None:
    headers = await _signed_in(api)
    created = await _create(api, headers, 0)
    assert created.status_code == 201
    hook = (await api.post(f"/api/v3/workflows/{created.json()['id']}/webhooks", headers=headers)).json()["url_path"]
    # A webhook call first, so that its connections are in the pool when the server stops.
    assert (await api.post(hook, json={"topic": "t"})).status_code == 202
    # Its row was never read by a call, so signing its call in needs the database (the admin's row,
    # read a moment ago, may be answered from the cache for AUTH_USER_CACHE_SECONDS).
    newcomer = await _signed_in(api)
    await asyncio.to_thread(database.stop, "fast")

    calls = {"list": api.get("/api/v3/workflows", headers=headers), "create": _create(api, headers, 1),
             "me": api.get("/api/v3/auth/me", headers=newcomer),
             "login": api.post("/api/v3/auth/login", json={"email": "x@example.com", "password": PASSWORD}),
             "webhook": api.post(hook, json={"topic": "t"})}
    for name, call in calls.items():
        answer, seconds = await _timed(call)
        assert answer.status_code == 503, (name, answer.text)
        assert answer.json()["error"]["code"] == "service_unavailable", name
        assert answer.headers.get("retry-after"), name
        assert seconds < OUTAGE_ANSWER_SECONDS, f"{name} took {seconds:.2f} s to say the database is away"
    health, _seconds = await _timed(api.get("/api/v3/health"))
    assert health.status_code == 503 and health.json()["components"]["database"]["status"] == "down"

    await asyncio.to_thread(database.start)
    listed = await api.get("/api/v3/workflows", headers=headers)  # the same engine: no app restart
    assert listed.status_code == 200, listed.text
    assert (await api.get("/api/v3/health")).json()["status"] == "ok"
    assert (await api.post(hook, json={"topic": "t"})).status_code == 202
    assert _saved_workflows(database.url) == {"wf 0": 1}


async def test_writes_racing_a_postgres_restart_are_whole_or_absent(database: PostgresCluster,
                                                                    api: httpx.AsyncClient) -> None:
    headers = await _signed_in(api)
    statuses: dict[str, int] = {}

    async def writer(first: int) -> None:
        for n in range(first, first + 400, 4):
            answer, _seconds = await _timed(_create(api, headers, n))
            assert answer.status_code in (201, 503), answer.text
            statuses[f"wf {n}"] = answer.status_code
            if len(statuses) > 40 and 503 in statuses.values() and list(statuses.values())[-1] == 201:
                return

    async def restart() -> None:
        await asyncio.sleep(0.3)
        await asyncio.to_thread(database.stop, "immediate")  # a crash: in-flight transactions die
        await asyncio.sleep(0.3)
        await asyncio.to_thread(database.start)

    await asyncio.gather(restart(), *(writer(n) for n in range(4)))
    assert 503 in statuses.values(), "the restart did not overlap any write"
    saved = _saved_workflows(database.url)
    accepted = {name for name, status in statuses.items() if status == 201}
    assert set(saved) == accepted
    assert set(saved.values()) == {1}, "every saved workflow has its first version"
