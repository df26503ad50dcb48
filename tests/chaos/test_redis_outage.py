"""A throwaway Redis stopped, and separately flushed, under a load of API calls: the API keeps
answering (cache degraded, runs accepted into the database), health and the services status say
degraded (the cache with its errors counted), and every accepted run is dispatched again from the
database and finishes once Redis is back, when the cache reports ok again by itself."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from dashboard.api.app import create_api
from models.run import RunStatus
from tests.chaos.conftest import PASSWORD, delay_chain, run_row
from tests.infra import truncate_all
from tests.processes import free_port, redis_server
from tests.workers import WorkerProcesses

pytestmark = [pytest.mark.postgres]
ANSWER_WITHIN = 5.0  # "never hangs": every call must be answered, well before any client would give up


@pytest.fixture
async def setup(request: pytest.FixtureRequest, tmp_path: Path, configure: Any) -> AsyncIterator[WorkerProcesses]:
    port = free_port()
    url = str(request.getfixturevalue("postgres_live_url"))
    await asyncio.to_thread(truncate_all, url)
    redis_url = f"redis://127.0.0.1:{port}/0"
    await configure(DATABASE_URL=url, REDIS_URL=redis_url, RUN_LEASE_SECONDS="2")
    cluster = WorkerProcesses(database_url=url, redis_url=redis_url, log_dir=tmp_path,
                              settings={"RUN_LEASE_SECONDS": "2", "WORKER_CONCURRENCY": "2"})
    yield cluster
    cluster.stop()


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_api()), base_url="http://t") as http:
        yield http


async def _admin(api: httpx.AsyncClient) -> dict[str, str]:
    email = f"admin-{uuid.uuid4().hex[:6]}@example.com"
    assert (await api.post("/api/v3/auth/register", json={"email": email, "password": PASSWORD})).status_code == 201
    login = await api.post("/api/v3/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def _answered(call: Any) -> httpx.Response:
    started = time.monotonic()
    try:
        return await asyncio.wait_for(call, ANSWER_WITHIN)
    except TimeoutError:
        pytest.fail(f"an API call hung for {time.monotonic() - started:.1f} s while Redis was away")


async def _load(api: httpx.AsyncClient, headers: dict[str, str], workflow_id: int, rounds: int,
                hook: str | None = None) -> list[str]:
    """Reads and executes (and webhook calls, given the ``hook``'s path), concurrently; returns the ids of
    the runs the API accepted."""
    accepted: list[str] = []
    for n in range(rounds):
        answers = await asyncio.gather(
            _answered(api.get("/api/v3/workflows", headers=headers)),
            _answered(api.get(f"/api/v3/workflows/{workflow_id}", headers=headers)),
            _answered(api.get("/api/v3/auth/me", headers=headers)),
            _answered(api.post(f"/api/v3/workflows/{workflow_id}/execute", headers=headers,
                               json={"parameters": {"topic": f"r{n}"}})),
            *([_answered(api.post(hook, json={"topic": f"h{n}"}))] if hook else []))
        for answer in answers:
            assert answer.status_code in (200, 202, 503), answer.text
            if answer.status_code == 503:  # a refusal must say why, in the standard error body
                assert answer.json()["error"]["code"] == "service_unavailable"
        assert answers[0].status_code == answers[1].status_code == answers[2].status_code == 200
        accepted += [answer.json()["run_id"] for answer in answers[3:] if answer.status_code == 202]
    return accepted


async def _health(api: httpx.AsyncClient) -> dict[str, Any]:
    answer = await _answered(api.get("/api/v3/health"))
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def _cache_row(api: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    answer = await _answered(api.get("/api/v3/advanced/services/status", headers=headers))
    assert answer.status_code == 200, answer.text
    return next(service for service in answer.json()["services"] if service["name"] == "cache")


async def _cache_recovers(api: httpx.AsyncClient, headers: dict[str, str], *, within: float = 10) -> None:
    """Health and the services status both say the cache is ok again, by themselves, within ``within`` s."""
    deadline = time.monotonic() + within
    while True:
        health, row = await _health(api), await _cache_row(api, headers)
        if health["status"] == health["components"]["cache"]["status"] == row["status"] == "ok":
            break
        assert time.monotonic() < deadline, f"the cache did not recover: {health['components']['cache']}, {row}"
        await asyncio.sleep(0.3)
    assert row["latency_ms"] is not None and row["version"].startswith("redis ")
    assert health["components"]["cache"]["errors"] >= 1, "the outage's errors stay counted"


async def _all_succeed(cluster: WorkerProcesses, run_ids: list[str], *, within: float = 45) -> None:
    async def finished() -> bool:
        rows = [await run_row(uuid.UUID(run_id)) for run_id in run_ids]
        return all(RunStatus(row["status"]).finished for row in rows)

    await cluster.wait_for(finished, what=f"{len(run_ids)} runs to finish", within=within)
    for run_id in run_ids:
        row = await run_row(uuid.UUID(run_id))
        assert RunStatus(row["status"]) is RunStatus.SUCCEEDED, (run_id, row["error"])


async def _workflow(api: httpx.AsyncClient, headers: dict[str, str]) -> int:
    created = await api.post("/api/v3/workflows", headers=headers,
                             json={"name": "outage", "graph": delay_chain(0.05)})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


async def test_a_stopped_redis_degrades_the_api_and_loses_no_accepted_run(setup: WorkerProcesses,
                                                                          api: httpx.AsyncClient) -> None:
    port = int(setup.redis_url.rsplit(":", 1)[1].split("/")[0])
    with redis_server(port):
        headers = await _admin(api)
        workflow_id = await _workflow(api, headers)
        hook = (await api.post(f"/api/v3/workflows/{workflow_id}/webhooks", headers=headers)).json()["url_path"]
        setup.start_worker()
        await setup.wait_for_ready_workers(1)
        before = await _load(api, headers, workflow_id, rounds=3, hook=hook)
        assert len(before) == 6
        health = await _health(api)
        assert health["status"] == "ok"
        assert health["components"]["cache"] | {"latency_ms": 0} == {
            "status": "ok", "latency_ms": 0, "detail": "tiered backend, 0 errors since start", "errors": 0,
            "last_error": ""}
        assert (await _cache_row(api, headers))["status"] == "ok"
    # Redis is gone (no persistence: when it comes back it has forgotten everything).
    during = await _load(api, headers, workflow_id, rounds=8, hook=hook)
    health = await _health(api)
    assert health["status"] == "degraded"
    assert health["components"]["redis"]["status"] == "down"
    assert health["components"]["database"]["status"] == "ok"
    cache = health["components"]["cache"]
    assert cache["status"] == "degraded" and cache["errors"] > 0 and cache["latency_ms"] is None
    assert "Redis unreachable" in cache["last_error"]
    row = await _cache_row(api, headers)
    assert row["status"] == "degraded" and "Redis unreachable" in row["last_error"]
    assert len(during) == 16, "runs (executed and from the webhook) are accepted while the queue is away"
    for run_id in during:
        assert RunStatus((await run_row(uuid.UUID(run_id)))["status"]) is RunStatus.QUEUED
    with redis_server(port):
        await _all_succeed(setup, before + during)
        after = await _load(api, headers, workflow_id, rounds=2, hook=hook)
        await _all_succeed(setup, after)
        await _cache_recovers(api, headers)


async def test_a_flushall_under_load_loses_no_queued_run(setup: WorkerProcesses, api: httpx.AsyncClient) -> None:
    port = int(setup.redis_url.rsplit(":", 1)[1].split("/")[0])
    with redis_server(port):
        headers = await _admin(api)
        created = await api.post("/api/v3/workflows", headers=headers,
                                 json={"name": "slow", "graph": delay_chain(0.3)})
        workflow_id = int(created.json()["id"])
        setup.start_worker(WORKER_CONCURRENCY="1")  # a backlog builds up on the queue
        await setup.wait_for_ready_workers(1)
        accepted = await _load(api, headers, workflow_id, rounds=6)
        client = redis.Redis(port=port)
        assert client.llen("saq:dwc-runs:queued") > 0, "the test needs jobs waiting on the queue"
        client.flushall()
        client.close()
        accepted += await _load(api, headers, workflow_id, rounds=4)
        await _all_succeed(setup, accepted)
    assert len(accepted) == 10
