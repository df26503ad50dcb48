"""kill -9 of the worker holding a run, N times (1,000 by default): lost runs, re-executed steps, resume time.

Each round starts a run of a 7-node chain (input, delays of 0.1, 0.1, 1.5, 0.1 and 0.1 s,
template) on the Redis queue, waits until its second delay succeeded (the kill lands in the long
third one), kills the worker holding it with SIGKILL and forks a replacement (workers come from a
fork server: importing the worker costs seconds of CPU). A run is resumed when another worker
holds its lease; the baseline is the same run with no kill, measured in the same session. At the
end every run must have succeeded, and every step that had succeeded before its kill must still
carry its first finish time (not executed again).

PostgreSQL is a temporary database on 127.0.0.1:5432; Redis is a throwaway ``redis-server`` on a
free port, or ``--redis-url`` (flushed).

    .venv/bin/python bench/chaos.py --kills 1000
    .venv/bin/python bench/chaos.py --kills 50 --lease 2
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DWC_DATA_DIR", tempfile.mkdtemp(prefix="dwc-bench-"))
for _name in ("DATABASE_URL", "REDIS_URL"):
    os.environ.pop(_name, None)

import redis  # noqa: E402

from models.run import RunStatus, StepStatus  # noqa: E402
from services.db import dispose_engine  # noqa: E402
from services.settings import get_settings  # noqa: E402
from services.workflows import runtime  # noqa: E402
from tests.chaos.conftest import delay_chain, make_workflow, run_row, start_run, step_rows, worker_pid  # noqa: E402
from tests.infra import migrate, temporary_postgres_database  # noqa: E402
from tests.processes import free_port, redis_server  # noqa: E402
from tests.workers import WorkerProcesses  # noqa: E402

STEP_NODES = {"in", "d1", "d2", "d3", "d4", "d5", "out"}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] if ordered else float("nan")


async def wait(check: Any, *, within: float, what: str) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise RuntimeError(f"timed out waiting for {what}")


async def finished(run_id: uuid.UUID) -> Any:
    row = await run_row(run_id)
    return row if RunStatus(row["status"]).finished else None


async def resumed_after(run_id: uuid.UUID, dead_owner: str, killed_at: float) -> float | None:
    deadline = killed_at + 120
    while time.monotonic() < deadline:
        row = await run_row(run_id)
        if row["lease_owner"] not in (None, dead_owner) or RunStatus(row["status"]).finished:
            return time.monotonic() - killed_at
        await asyncio.sleep(0.02)
    return None


async def bench(cluster: WorkerProcesses, kills: int, workers: int, baseline_runs: int) -> None:
    user, workflow_id = await make_workflow(delay_chain(0.1, 0.1, 1.5, 0.1, 0.1))
    for _ in range(workers):
        cluster.start_worker()
    await cluster.wait_for_ready_workers(workers)

    baseline = []
    for n in range(baseline_runs):
        started = time.monotonic()
        run_id = await start_run(user, workflow_id, topic=f"b{n}")
        await wait(lambda run_id=run_id: finished(run_id), within=60, what="a baseline run")
        baseline.append(time.monotonic() - started)

    rounds: list[tuple[uuid.UUID, dict[str, Any], asyncio.Task[float | None]]] = []
    started = time.monotonic()
    skipped = 0
    for n in range(kills):
        await cluster.wait_for_ready_workers(2)
        run_id = await start_run(user, workflow_id, topic=f"k{n}")

        async def mid_run(run_id: uuid.UUID = run_id) -> dict[str, Any] | None:
            steps = await step_rows(run_id)
            return steps if steps.get("d2", {}).get("status") == StepStatus.SUCCEEDED.value else None

        before = await wait(mid_run, within=60, what=f"run {n} to reach d2")
        holder = (await run_row(run_id))["lease_owner"]
        if holder is None:  # the machine was too slow to catch it mid-run: not a kill, try again
            skipped += 1
            continue
        cluster.kill_9(worker_pid(holder))
        killed_at = time.monotonic()
        cluster.start_worker()
        rounds.append((run_id, dict(before), asyncio.create_task(resumed_after(run_id, holder, killed_at))))
        if (n + 1) % 100 == 0:
            print(f"  {n + 1} kills in {time.monotonic() - started:.0f} s", flush=True)

    lost = reexecuted = 0
    resumes: list[float] = []
    for run_id, before, resume in rounds:
        seconds = await resume
        row = await wait(lambda run_id=run_id: finished(run_id), within=120, what="a killed run to finish")
        after = await step_rows(run_id)
        if RunStatus(row["status"]) is not RunStatus.SUCCEEDED or set(after) != STEP_NODES:
            lost += 1
        for node_id, step in before.items():
            if step["status"] == StepStatus.SUCCEEDED.value and (
                    after[node_id]["finished_at"] != step["finished_at"] or after[node_id]["attempt"] != 1):
                reexecuted += 1
        if seconds is None:
            lost += 1
        else:
            resumes.append(seconds)
    lease = get_settings().run_lease_seconds
    kills = len(rounds)
    print(f"{kills} kills in {time.monotonic() - started:.0f} s ({skipped} rounds finished before the kill), "
          f"lease {lease:g} s, {workers} workers kept")
    print(f"baseline run (no kill): median {statistics.median(baseline):.2f} s over {baseline_runs}")
    print(f"resumed after kill: p50 {percentile(resumes, 0.5):.2f} s, p95 {percentile(resumes, 0.95):.2f} s, "
          f"max {max(resumes, default=float('nan')):.2f} s (bound: 2 x lease = {2 * lease:g} s)")
    print(f"chaos_kills={kills}")
    print(f"chaos_lost_runs={lost}")
    print(f"chaos_reexecuted_steps={reexecuted}")
    print(f"chaos_resume_s_p50={percentile(resumes, 0.5):.3f}")
    print(f"chaos_resume_s_p95={percentile(resumes, 0.95):.3f}")
    print(f"chaos_resumes_over_2x_lease={sum(1 for s in resumes if s > 2 * lease)}")
    print(f"chaos_baseline_run_s={statistics.median(baseline):.3f}")


async def main(args: argparse.Namespace) -> None:
    with contextlib.ExitStack() as stack:
        if not args.redis_url:
            port = free_port()
            stack.enter_context(redis_server(port))
            args.redis_url = f"redis://127.0.0.1:{port}/0"
        await run(args)


async def run(args: argparse.Namespace) -> None:
    client = redis.Redis.from_url(args.redis_url)
    client.flushdb()
    with temporary_postgres_database() as url, tempfile.TemporaryDirectory(prefix="dwc-chaos-") as logs:
        migrate(url)
        settings = {"RUN_LEASE_SECONDS": str(args.lease), "WORKER_CONCURRENCY": "4"}
        os.environ.update({"DATABASE_URL": url, "REDIS_URL": args.redis_url, **settings})
        get_settings.cache_clear()
        cluster = WorkerProcesses(database_url=url, redis_url=args.redis_url, log_dir=Path(logs), settings=settings)
        try:
            await bench(cluster, args.kills, args.workers, args.baseline_runs)
        finally:
            cluster.stop()
            await runtime.reset_dispatcher()
            await dispose_engine()
            client.flushdb()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=1000, help="how many workers to kill -9 (default 1,000)")
    parser.add_argument("--lease", type=float, default=2.0, help="RUN_LEASE_SECONDS of the workers (default 2)")
    parser.add_argument("--workers", type=int, default=3, help="workers kept alive (default 3)")
    parser.add_argument("--baseline-runs", type=int, default=5, help="runs with no kill, for the baseline")
    parser.add_argument("--redis-url", default="", help="Redis database for the queue (flushed); "
                        "default: a throwaway redis-server on a free port")
    asyncio.run(main(parser.parse_args()))
