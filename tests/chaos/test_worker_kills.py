"""kill -9 of the worker holding a run, 20 times in a row: no run is lost, no finished step runs
again, and each run is resumed by another worker within twice the lease."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis

from models.run import RunStatus, StepStatus
from tests.chaos.conftest import delay_chain, make_workflow, run_row, start_run, step_rows, worker_pid
from tests.infra import REDIS_TEST_URL, require_server, truncate_all
from tests.workers import WorkerProcesses

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
KILLS = 20
LEASE_SECONDS = 3.0
WORKERS = 3  # a killed worker is replaced at once; a new process takes seconds to start


@pytest.fixture
async def cluster(request: pytest.FixtureRequest, tmp_path: Path, configure: Any) -> AsyncIterator[WorkerProcesses]:
    require_server("Redis", "127.0.0.1", 6379)
    client = redis.Redis.from_url(REDIS_TEST_URL)
    client.flushdb()
    url = str(request.getfixturevalue("postgres_live_url"))
    await asyncio.to_thread(truncate_all, url)
    await configure(DATABASE_URL=url, REDIS_URL=REDIS_TEST_URL, RUN_LEASE_SECONDS=str(LEASE_SECONDS))
    setup = WorkerProcesses(database_url=url, redis_url=REDIS_TEST_URL, log_dir=tmp_path,
                            settings={"RUN_LEASE_SECONDS": str(LEASE_SECONDS), "WORKER_CONCURRENCY": "4"})
    yield setup
    setup.stop()
    client.flushdb()
    client.close()


async def _resumed_after(cluster: WorkerProcesses, run_id: uuid.UUID, dead_owner: str, killed_at: float) -> float:
    """Seconds from the kill until another worker holds the run (or finished it)."""
    deadline = killed_at + 30
    while time.monotonic() < deadline:
        row = await run_row(run_id)
        if row["lease_owner"] not in (None, dead_owner) or RunStatus(row["status"]).finished:
            return time.monotonic() - killed_at
        await asyncio.sleep(0.02)
    client = redis.Redis.from_url(REDIS_TEST_URL)
    jobs = {key: client.get(key) for key in client.scan_iter(f"saq:job:*{run_id}*")}
    pytest.fail(f"run {run_id} was not resumed within 30 s of the kill of {dead_owner}: {dict(row)}\n"
                f"jobs: {jobs}\n{cluster.logs()}")


async def test_twenty_kill_9s_in_a_row_lose_no_run_and_repeat_no_finished_step(cluster: WorkerProcesses) -> None:
    user, workflow_id = await make_workflow(delay_chain(0.1, 0.1, 1.5, 0.1, 0.1))
    for _ in range(WORKERS):
        cluster.start_worker()
    await cluster.wait_for_ready_workers(WORKERS)
    kills: list[tuple[uuid.UUID, dict[str, Any]]] = []
    resumes: list[asyncio.Task[float]] = []
    for n in range(KILLS):
        await cluster.wait_for_ready_workers(2)  # the one killed next and one to take over
        run_id = await start_run(user, workflow_id, topic=f"t{n}")

        async def mid_run(run_id: uuid.UUID = run_id) -> dict[str, Any] | None:
            steps = await step_rows(run_id)
            return steps if steps.get("d2", {}).get("status") == StepStatus.SUCCEEDED.value else None

        before = await cluster.wait_for(mid_run, what=f"run {n} to reach d2")
        holder = (await run_row(run_id))["lease_owner"]
        assert holder is not None, f"run {n} finished before it could be killed"
        cluster.kill_9(worker_pid(holder))
        killed_at = time.monotonic()
        cluster.start_worker()  # replace it, so that the pool stays at WORKERS
        kills.append((run_id, dict(before)))
        resumes.append(asyncio.create_task(_resumed_after(cluster, run_id, holder, killed_at)))

    resumed_within = await asyncio.gather(*resumes)
    for n, (run_id, before) in enumerate(kills):
        async def finished(run_id: uuid.UUID = run_id) -> Any:
            row = await run_row(run_id)
            return row if RunStatus(row["status"]).finished else None

        row = await cluster.wait_for(finished, what=f"run {n} to finish")
        assert RunStatus(row["status"]) is RunStatus.SUCCEEDED, row["error"]
        assert row["claims"] >= 2
        after = await step_rows(run_id)
        assert set(after) == {"in", "d1", "d2", "d3", "d4", "d5", "out"}
        assert {step["status"] for step in after.values()} == {StepStatus.SUCCEEDED.value}
        for node_id, step in before.items():
            if step["status"] == StepStatus.SUCCEEDED.value:  # finished before the kill: kept, not run again
                assert after[node_id]["finished_at"] == step["finished_at"], node_id
                assert after[node_id]["attempt"] == 1, node_id
        assert after["out"]["output"]["content"] == f"done: t{n}"
    slow = [(n, round(seconds, 2)) for n, seconds in enumerate(resumed_within) if seconds > 2 * LEASE_SECONDS]
    assert not slow, f"runs resumed later than twice the lease ({2 * LEASE_SECONDS:g} s): {slow}\n{cluster.logs()}"
