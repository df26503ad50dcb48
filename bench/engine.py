"""What the workflow engine costs per node, how fast the queue dispatches, and runs per second.

Every figure is measured side by side with its baseline in the same run:

* per-node overhead: chains of 10, 100 and 1000 no-op nodes (``delay`` with 0 s) and a fan-out
  of 100 parallel no-ops, executed by the real engine on SQLite and on PostgreSQL (claim, one
  committed step per node, events, finish) against the same node code called as plain
  coroutines in a loop (no scheduling, no persistence);
* dispatch latency: enqueued on the Redis queue → a ``make worker`` process started its first step;
* throughput: runs of a 3-node chain per second with 1 and with 4 worker processes, and runs of the
  webhook graph of ``bench/load.py`` (input -> template -> output) with 2, with the workers' CPU
  time per run (from /proc).

PostgreSQL is ``DATABASE_URL`` when that names one, else a temporary database on 127.0.0.1:5432;
the queue uses Redis database 15 on 127.0.0.1:6379 (the tests' database: it is flushed).

    .venv/bin/python bench/engine.py              # or: make bench
    .venv/bin/python bench/engine.py --quick      # smaller samples, same figures
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DWC_DATA_DIR", tempfile.mkdtemp(prefix="dwc-bench-"))
GIVEN_POSTGRES_URL = os.environ.get("DATABASE_URL", "") if os.environ.get("DATABASE_URL", "").startswith(
    ("postgres://", "postgresql")) else ""
for _name in ("DATABASE_URL", "REDIS_URL"):
    os.environ.pop(_name, None)
os.environ["RUN_LEASE_SECONDS"] = "30"
os.environ["WORKFLOW_MAX_PARALLEL_NODES"] = "100"

from sqlalchemy import func, select  # noqa: E402

from models.run import Run, RunStatus, Step, Trigger  # noqa: E402
from models.user import Role, User, UserCreate  # noqa: E402
from models.workflow import WorkflowCreate  # noqa: E402
from services.auth import service as auth  # noqa: E402
from services.db import dispose_engine, get_engine, open_session  # noqa: E402
from services.settings import get_settings  # noqa: E402
from services.workflows import runs, runtime  # noqa: E402
from services.workflows import service as workflows  # noqa: E402
from services.workflows.engine import EngineOptions, execute_run  # noqa: E402
from services.workflows.events import get_event_bus  # noqa: E402
from services.workflows.graph import Graph  # noqa: E402
from services.workflows.nodes.base import NodeContext  # noqa: E402
from services.workflows.nodes.registry import get_node_type  # noqa: E402
from services.workflows.run_store import RunStore  # noqa: E402
from tests.infra import REDIS_TEST_URL, migrate, reachable, temporary_postgres_database  # noqa: E402
from tests.processes import stop_process_group  # noqa: E402

RUNS = Run.__table__  # type: ignore[attr-defined]
STEPS = Step.__table__  # type: ignore[attr-defined]


WEBHOOK_GRAPH = {"nodes": [{"id": "in", "type": "input", "config": {"fields": []}},
                           {"id": "t", "type": "template", "config": {"template": "hello {{ params.n }}"}},
                           {"id": "out", "type": "output", "config": {"format": "markdown"}}],
                 "edges": [{"source": "in", "target": "t"}, {"source": "t", "target": "out"}]}


def chain(length: int) -> dict[str, Any]:
    ids = [f"n{i}" for i in range(length)]
    return {"nodes": [{"id": node_id, "type": "delay", "config": {"seconds": 0}} for node_id in ids],
            "edges": [{"source": a, "target": b} for a, b in itertools.pairwise(ids)]}


def fan_out(width: int) -> dict[str, Any]:
    leaves = [f"leaf{i}" for i in range(width)]
    nodes = [{"id": "root", "type": "delay", "config": {"seconds": 0}},
             *({"id": leaf, "type": "delay", "config": {"seconds": 0}} for leaf in leaves),
             {"id": "join", "type": "merge", "config": {}}]
    edges = [*({"source": "root", "target": leaf} for leaf in leaves),
             *({"source": leaf, "target": "join"} for leaf in leaves)]
    return {"nodes": nodes, "edges": edges}


async def direct(graph: dict[str, Any]) -> float:
    """The baseline: the same nodes' code awaited in topological order, nothing else."""
    parsed = Graph.model_validate(graph)
    started = time.perf_counter()
    outputs: dict[str, dict[str, Any]] = {}
    for node_id in parsed.topological_order():
        node = parsed.nodes_by_id[node_id]
        node_type = get_node_type(node.type)
        sources = tuple(edge.source for edge in parsed.incoming[node_id])
        ctx = NodeContext(run_id="bench", workflow_id=0, node_id=node_id, attempt=1, parameters={},
                          upstream=outputs, direct_inputs=sources)
        outputs[node_id] = (await node_type.run(node_type.parse_config(node.config), ctx)).document()
    return time.perf_counter() - started


async def use_database(url: str, *, redis_url: str = "") -> None:
    os.environ["DATABASE_URL"] = url
    if redis_url:
        os.environ["REDIS_URL"] = redis_url
    else:
        os.environ.pop("REDIS_URL", None)
    get_settings.cache_clear()
    await runtime.reset_dispatcher()
    await dispose_engine()


async def bench_user() -> User:
    """A new account allowed to create and run workflows (the database may already have users)."""
    async with open_session() as session:
        user = await auth.register(UserCreate(email=f"bench-{uuid.uuid4().hex[:8]}@example.com",
                                              password="amber-falcon-lantern-42"), session=session)
        if user.role is Role.VIEWER:
            user.role = Role.EDITOR
            session.add(user)
            await session.commit()
        return user


async def create_workflow(user: User, graph: dict[str, Any]) -> int:
    async with open_session() as session:
        workflow = await workflows.create(user, WorkflowCreate(name="bench", graph=graph), session=session)
        assert workflow.id is not None
        return workflow.id


async def engine_time(workflow_id: int) -> float:
    """One run executed by the engine in this process, from claim to finish."""
    async with open_session() as session:
        run = Run(workflow_id=workflow_id, version=1, trigger=Trigger.API, parameters={})
        session.add(run)
        await session.commit()
        run_id = run.id
    options = EngineOptions.from_settings("bench")
    started = time.perf_counter()
    status = await execute_run(run_id, store=RunStore(get_engine()), bus=get_event_bus(), options=options)
    elapsed = time.perf_counter() - started
    assert status is RunStatus.SUCCEEDED, status
    return elapsed


async def overhead(user: User, label: str, graph: dict[str, Any], repeats: int) -> tuple[float, float, float]:
    """(engine ms, direct ms, overhead ms per node), medians over ``repeats`` alternating runs."""
    workflow_id = await create_workflow(user, graph)
    await engine_time(workflow_id)  # warm caches and connections
    await direct(graph)
    engine_s, direct_s = [], []
    for _ in range(repeats):
        engine_s.append(await engine_time(workflow_id))
        direct_s.append(await direct(graph))
    nodes = len(graph["nodes"])
    engine_ms, direct_ms = statistics.median(engine_s) * 1000, statistics.median(direct_s) * 1000
    per_node = (engine_ms - direct_ms) / nodes
    print(f"  {label:<22} {nodes:>5} nodes  engine {engine_ms:9.1f} ms  direct {direct_ms:8.2f} ms  "
          f"overhead {per_node:.3f} ms/node")
    return engine_ms, direct_ms, per_node


async def overhead_suite(user: User, database: str, repeats: int) -> tuple[float, float]:
    print(f"\n{database}: engine vs direct coroutines (median of {repeats})")
    per_node: list[float] = []
    ratio = 0.0
    for length in (10, 100, 1000):
        engine_ms, direct_ms, cost = await overhead(user, f"chain of {length}", chain(length),
                                                    max(1, repeats // (3 if length == 1000 else 1)))
        per_node.append(cost)
        if length == 100:
            ratio = engine_ms / direct_ms
    await overhead(user, "fan-out of 100", fan_out(100), repeats)
    return per_node[-1], ratio


class Workers:
    def __init__(self, database_url: str, log_dir: Path) -> None:
        self.database_url, self.log_dir = database_url, log_dir
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, count: int) -> None:
        env = {**os.environ, "DATABASE_URL": self.database_url, "REDIS_URL": REDIS_TEST_URL,
               "WORKER_CONCURRENCY": "10"}
        for _ in range(count):
            log = (self.log_dir / f"worker-{len(self.processes)}.log").open("wb")
            self.processes.append(subprocess.Popen([sys.executable, "-m", "services.workflows.worker"], cwd=ROOT,
                                                   env=env, stdout=log, stderr=subprocess.STDOUT,
                                                   start_new_session=True))

    def cpu_seconds(self) -> float:
        """User + system CPU time of the worker processes so far."""
        total = 0
        for process in self.processes:
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        for process in self.processes:
            stop_process_group(process, grace_seconds=10)
        self.processes.clear()


async def wait_finished(run_ids: list[uuid.UUID], within: float = 300) -> None:
    deadline = time.monotonic() + within
    finished = [status.value for status in RunStatus if status.finished]
    while time.monotonic() < deadline:
        async with get_engine().connect() as conn:
            done = (await conn.execute(select(func.count()).where(RUNS.c.id.in_(run_ids),
                                                                  RUNS.c.status.in_(finished)))).scalar_one()
        if done == len(run_ids):
            return
        await asyncio.sleep(0.02)
    sys.exit(f"runs did not finish within {within} s; see the worker logs")


async def start(user: User, workflow_id: int) -> uuid.UUID:
    async with open_session() as session:
        run = await runs.start_run(workflow_id, {}, session=session, trigger=Trigger.API, actor=user)
        return run.id


async def dispatch_latency(user: User, workflow_id: int, samples: int) -> float:
    """Enqueued → the run's first step started in a worker, one run at a time, p50 in ms."""
    latencies = []
    for _ in range(samples):
        run_id = await start(user, workflow_id)
        enqueued = time.time()
        await wait_finished([run_id])
        async with get_engine().connect() as conn:
            started_at = (await conn.execute(select(func.min(STEPS.c.started_at))
                                             .where(STEPS.c.run_id == run_id))).scalar_one()
        latencies.append((started_at.timestamp() - enqueued) * 1000)
    return statistics.median(latencies)


async def throughput(workflow_id: int, count: int) -> float:
    """Runs per second through the workers: ``count`` queued runs enqueued at once, until all finished."""
    async with open_session() as session:
        queued = [Run(workflow_id=workflow_id, version=1, trigger=Trigger.API, parameters={}) for _ in range(count)]
        session.add_all(queued)
        await session.commit()
        run_ids = [run.id for run in queued]
    dispatcher = runtime.get_dispatcher()
    started = time.perf_counter()
    for run_id in run_ids:
        await dispatcher.enqueue(run_id)
    await wait_finished(run_ids)
    return count / (time.perf_counter() - started)


async def queue_suite(user: User, database_url: str, samples: int, count: int) -> dict[str, float]:
    import redis

    redis.Redis.from_url(REDIS_TEST_URL).flushdb()
    workflow_id = await create_workflow(user, chain(3))
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="dwc-bench-workers-") as logs:
        workers = Workers(database_url, Path(logs))
        try:
            workers.start(1)
            await wait_finished([await start(user, workflow_id)], within=60)  # the worker is up
            figures["dispatch_latency_ms_p50"] = await dispatch_latency(user, workflow_id, samples)
            figures["runs_per_s_1_worker"] = await throughput(workflow_id, count)
            workers.start(3)
            await asyncio.sleep(3)  # let the new workers connect
            figures["runs_per_s_4_workers"] = await throughput(workflow_id, count)
            workers.stop()
            hook_workflow_id = await create_workflow(user, WEBHOOK_GRAPH)
            workers.start(2)
            await wait_finished([await start(user, hook_workflow_id)], within=60)  # the workers are up
            await throughput(hook_workflow_id, count // 5)  # warm both workers
            cpu_before = workers.cpu_seconds()
            figures["webhook_graph_runs_per_s_2_workers"] = await throughput(hook_workflow_id, count * 2)
            figures["webhook_graph_worker_cpu_ms_per_run"] = (workers.cpu_seconds() - cpu_before) * 1000 / (count * 2)
        finally:
            workers.stop()
    print(f"\nqueue (PostgreSQL + Redis, 3-node chain): dispatch p50 {figures['dispatch_latency_ms_p50']:.1f} ms, "
          f"{figures['runs_per_s_1_worker']:.0f} runs/s with 1 worker, "
          f"{figures['runs_per_s_4_workers']:.0f} runs/s with 4")
    print(f"queue (webhook graph: input -> template -> output): {figures['webhook_graph_runs_per_s_2_workers']:.0f} "
          f"runs/s with 2 workers, {figures['webhook_graph_worker_cpu_ms_per_run']:.2f} ms of worker CPU per run")
    return figures


async def main(quick: bool) -> None:
    repeats, samples, count = (3, 10, 60) if quick else (7, 40, 300)
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="dwc-bench-") as folder:
        sqlite_url = f"sqlite:///{folder}/bench.db"
        migrate(sqlite_url)
        await use_database(sqlite_url)
        user = await bench_user()
        figures["engine_overhead_ms_per_node_sqlite"], figures["overhead_ratio_vs_direct"] = (
            await overhead_suite(user, "SQLite", repeats))
    if not GIVEN_POSTGRES_URL and not reachable("127.0.0.1", 5432):
        print("PostgreSQL is not answering on 127.0.0.1:5432: skipping its figures")
    else:
        with contextlib.nullcontext(GIVEN_POSTGRES_URL) if GIVEN_POSTGRES_URL else (
                temporary_postgres_database()) as postgres_url:
            migrate(postgres_url)
            await use_database(postgres_url)
            user = await bench_user()
            figures["engine_overhead_ms_per_node_postgres"], _ = await overhead_suite(user, "PostgreSQL", repeats)
            if reachable("127.0.0.1", 6379):
                await use_database(postgres_url, redis_url=REDIS_TEST_URL)
                figures.update(await queue_suite(user, postgres_url, samples, count))
            else:
                print("Redis is not answering on 127.0.0.1:6379: skipping the queue figures")
            await runtime.reset_dispatcher()
            await dispose_engine()
    print()
    for name, value in figures.items():
        print(f"{name}={value:.3f}" if value < 10 else f"{name}={value:.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller samples (a minute instead of several)")
    asyncio.run(main(parser.parse_args().quick))
