"""Worker processes on the real Redis queue and PostgreSQL: sharing work, surviving kill -9 and
SIGTERM, and rebuilding a queue that Redis lost."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import select

from models.run import Run, RunStatus, Step, StepStatus, Trigger
from models.user import User, UserCreate
from models.workflow import WorkflowCreate
from services.auth import service as auth
from services.db import dispose_engine, get_engine, open_session
from services.settings import get_settings
from services.workflows import runs, runtime
from services.workflows import service as workflows
from tests.infra import REDIS_TEST_URL, require_server, truncate_all
from tests.worker_forks import alive
from tests.workers import WorkerProcesses

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
RUNS = Run.__table__  # type: ignore[attr-defined]
STEPS = Step.__table__  # type: ignore[attr-defined]


@pytest.fixture
def _redis_db() -> Iterator[redis.Redis]:
    require_server("Redis", "127.0.0.1", 6379)
    client = redis.Redis.from_url(REDIS_TEST_URL)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
async def queue(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                _redis_db: redis.Redis) -> AsyncIterator[WorkerProcesses]:
    """PostgreSQL and the Redis queue configured here, and worker processes stopped afterwards."""
    url = str(request.getfixturevalue("postgres_live_url"))
    await asyncio.to_thread(truncate_all, url)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("REDIS_URL", REDIS_TEST_URL)
    get_settings.cache_clear()
    await runtime.reset_dispatcher()
    await dispose_engine()
    setup = WorkerProcesses(database_url=url, redis_url=REDIS_TEST_URL, log_dir=tmp_path,
                            settings={"RUN_LEASE_SECONDS": "1.0", "WORKER_CONCURRENCY": "4"})
    yield setup
    setup.stop()
    await runtime.reset_dispatcher()
    await dispose_engine()
    monkeypatch.delenv("REDIS_URL")
    get_settings.cache_clear()
    from services.redis_client import close_redis

    await close_redis()


async def _workflow(graph: dict[str, Any]) -> tuple[User, int]:
    async with open_session() as session:
        user = await auth.register(UserCreate(email=f"w-{uuid.uuid4().hex[:8]}@example.com",
                                              password="amber-falcon-lantern-42"), session=session)
        workflow = await workflows.create(user, WorkflowCreate(name="queued", graph=graph), session=session)
        assert workflow.id is not None
        return user, workflow.id


async def _start(user: User, workflow_id: int, **parameters: Any) -> uuid.UUID:
    async with open_session() as session:
        run = await runs.start_run(workflow_id, parameters, session=session, trigger=Trigger.API, actor=user)
        return run.id


async def _run_row(run_id: uuid.UUID) -> Any:
    async with get_engine().connect() as conn:
        return (await conn.execute(select(RUNS).where(RUNS.c.id == run_id))).mappings().one()


async def _steps(run_id: uuid.UUID) -> dict[str, Any]:
    async with get_engine().connect() as conn:
        rows = (await conn.execute(select(STEPS).where(STEPS.c.run_id == run_id))).mappings().all()
    return {row["node_id"]: row for row in rows}


async def _finished(run_id: uuid.UUID, setup: WorkerProcesses, *, within: float = 30) -> Any:
    async def check() -> Any:
        row = await _run_row(run_id)
        return row if RunStatus(row["status"]).finished else None

    return await setup.wait_for(check, within=within, what=f"run {run_id} to finish")


def _chain(*delays: float) -> dict[str, Any]:
    names = [f"d{i}" for i in range(1, len(delays) + 1)]
    nodes = [{"id": "in", "type": "input", "config": {"fields": ["topic"]}},
             *({"id": name, "type": "delay", "config": {"seconds": seconds}} for name, seconds in zip(names, delays,
                                                                                                     strict=True)),
             {"id": "out", "type": "template", "config": {"template": "done: {{ in.topic }}"}}]
    order = ["in", *names, "out"]
    return {"nodes": nodes, "edges": [{"source": a, "target": b} for a, b in itertools.pairwise(order)]}


def _worker_pid(lease_owner: str) -> int:
    return int(lease_owner.split(":")[1])


async def test_two_workers_execute_every_run_once(queue: WorkerProcesses) -> None:
    user, workflow_id = await _workflow(_chain(0.05))
    queue.start_worker()
    queue.start_worker()
    run_ids = [await _start(user, workflow_id, topic=f"t{i}") for i in range(16)]
    for run_id in run_ids:
        row = await _finished(run_id, queue)
        assert RunStatus(row["status"]) is RunStatus.SUCCEEDED, row["error"]
        assert row["claims"] == 1
        steps = await _steps(run_id)
        assert steps["out"]["output"]["content"] == f"done: t{run_ids.index(run_id)}"
        assert all(step["attempt"] == 1 for step in steps.values())


async def test_run_survives_kill_9_of_the_worker_holding_it(queue: WorkerProcesses) -> None:
    user, workflow_id = await _workflow(_chain(0.4, 0.4, 0.4, 0.4, 0.4))
    queue.start_worker(WORKER_CONCURRENCY="1")
    queue.start_worker(WORKER_CONCURRENCY="1")
    run_id = await _start(user, workflow_id, topic="otters")

    async def second_step_done() -> Any:
        steps = await _steps(run_id)
        return steps if steps.get("d2", {}).get("status") == StepStatus.SUCCEEDED.value else None

    before = await queue.wait_for(second_step_done, what="d2 to succeed")
    holder = (await _run_row(run_id))["lease_owner"]
    queue.kill_9(_worker_pid(holder))

    row = await _finished(run_id, queue)
    assert RunStatus(row["status"]) is RunStatus.SUCCEEDED, row["error"]
    assert row["claims"] == 2
    after = await _steps(run_id)
    assert set(after) == {"in", "d1", "d2", "d3", "d4", "d5", "out"}
    assert all(step["status"] == StepStatus.SUCCEEDED.value for step in after.values())
    for node_id in ("in", "d1", "d2"):  # finished before the kill: kept, not run again
        assert after[node_id]["finished_at"] == before[node_id]["finished_at"]
        assert after[node_id]["attempt"] == 1
    assert after["out"]["output"]["content"] == "done: otters"


async def test_sigterm_hands_the_run_back_without_waiting_for_the_lease(queue: WorkerProcesses) -> None:
    long_lease = {"RUN_LEASE_SECONDS": "120", "WORKER_CONCURRENCY": "1"}  # only a hand-back lets the run go on
    user, workflow_id = await _workflow(_chain(0.5, 0.5, 0.5))
    first = queue.start_worker(**long_lease)
    run_id = await _start(user, workflow_id, topic="herons")

    async def first_step_done() -> Any:
        return (await _steps(run_id)).get("d1", {}).get("status") == StepStatus.SUCCEEDED.value

    await queue.wait_for(first_step_done, what="d1 to succeed")
    queue.stop_worker(first, grace_seconds=15)
    assert not alive(first) and f"run {run_id} handed back to the queue" in queue.log_of(first), queue.logs()
    row = await _run_row(run_id)
    assert RunStatus(row["status"]) is RunStatus.QUEUED and row["lease_owner"] is None

    queue.start_worker(**long_lease)
    row = await _finished(run_id, queue, within=20)
    assert RunStatus(row["status"]) is RunStatus.SUCCEEDED, row["error"]
    assert (await _steps(run_id))["d1"]["attempt"] == 1


async def test_runs_lost_by_a_flushed_redis_are_dispatched_again(queue: WorkerProcesses,
                                                                 _redis_db: redis.Redis) -> None:
    user, workflow_id = await _workflow(_chain(0.01))
    run_ids = [await _start(user, workflow_id, topic=f"t{i}") for i in range(3)]
    assert _redis_db.dbsize() > 0  # the jobs are on the queue...
    _redis_db.flushdb()  # ...until Redis loses them
    queue.start_worker()
    for run_id in run_ids:
        row = await _finished(run_id, queue)
        assert RunStatus(row["status"]) is RunStatus.SUCCEEDED, row["error"]
        assert row["claims"] == 1
