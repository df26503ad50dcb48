"""Faults injected into real processes: worker processes killed with ``kill -9``, a throwaway Redis
stopped or flushed, a throwaway PostgreSQL cluster restarted. Never the shared servers."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from models.run import Run, Step, Trigger
from models.user import User, UserCreate
from models.workflow import WorkflowCreate
from services.auth import service as auth
from services.db import dispose_engine, get_engine, open_session
from services.notifications import dispatch
from services.settings import get_settings
from services.workflows import runs, runtime
from services.workflows import service as workflows
from tests.worker_forks import WorkerForks, alive, stop_worker

ROOT = Path(__file__).resolve().parents[2]
RUNS = Run.__table__  # type: ignore[attr-defined]
STEPS = Step.__table__  # type: ignore[attr-defined]
PASSWORD = "amber-falcon-lantern-42"


@dataclass
class Cluster:
    """Worker processes (``make worker``, forked from a fork server) on one database and one Redis."""

    database_url: str
    redis_url: str
    tmp_path: Path
    settings: dict[str, str] = field(default_factory=dict)
    pids: list[int] = field(default_factory=list)
    _forks: WorkerForks | None = None

    def start_worker(self, **settings: str) -> int:
        if self._forks is None:
            env = {**os.environ, "DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url, **self.settings}
            self._forks = WorkerForks(env, ROOT)
        pid = self._forks.spawn(self._log(len(self.pids)), **settings)
        self.pids.append(pid)
        return pid

    def _log(self, n: int) -> Path:
        return self.tmp_path / f"worker-{n}.log"

    def kill_9(self, pid: int) -> None:
        """``kill -9`` the worker's process group and wait until it is gone."""
        os.killpg(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.005)

    def ready_workers(self) -> int:
        """Live workers that finished starting (their log says so)."""
        return sum(1 for n, pid in enumerate(self.pids) if alive(pid)
                   and "ready (concurrency" in self._log(n).read_text(errors="replace"))

    async def wait_for_ready_workers(self, count: int) -> None:
        async def enough() -> bool:
            return self.ready_workers() >= count

        await self.wait_for(enough, what=f"{count} workers to be ready", within=60)

    def logs(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')[-2500:]}"
                         for path in sorted(self.tmp_path.glob("*.log")))

    async def wait_for(self, check: Callable[[], Awaitable[Any]], *, what: str, within: float = 30) -> Any:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            value = await check()
            if value:
                return value
            await asyncio.sleep(0.05)
        pytest.fail(f"timed out after {within:g} s waiting for {what}\n{self.logs()}")

    def stop(self) -> None:
        for pid in self.pids:
            stop_worker(pid)
        if self._forks is not None:
            self._forks.close()


@pytest.fixture
async def configure(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Callable[..., Awaitable[None]]]:
    """Point this process's settings (engine, dispatcher, delivery queue) at the given servers; undone after."""

    async def _configure(**env: str) -> None:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        await _reset()

    yield _configure
    await _reset()
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    get_settings.cache_clear()


async def _reset() -> None:
    from services.cache.service import close_caches
    from services.redis_client import close_redis

    await runtime.reset_dispatcher()
    await dispatch.reset_delivery_queue()
    await close_caches()
    await close_redis()
    await dispose_engine()


async def make_workflow(graph: dict[str, Any]) -> tuple[User, int]:
    async with open_session() as session:
        user = await auth.register(UserCreate(email=f"c-{uuid.uuid4().hex[:8]}@example.com", password=PASSWORD),
                                   session=session)
        workflow = await workflows.create(user, WorkflowCreate(name="chaos", graph=graph), session=session)
        assert workflow.id is not None
        return user, workflow.id


async def start_run(user: User, workflow_id: int, **parameters: Any) -> uuid.UUID:
    async with open_session() as session:
        run = await runs.start_run(workflow_id, parameters, session=session, trigger=Trigger.API, actor=user)
        return run.id


async def run_row(run_id: uuid.UUID) -> Any:
    async with get_engine().connect() as conn:
        return (await conn.execute(select(RUNS).where(RUNS.c.id == run_id))).mappings().one()


async def step_rows(run_id: uuid.UUID) -> dict[str, Any]:
    async with get_engine().connect() as conn:
        rows = (await conn.execute(select(STEPS).where(STEPS.c.run_id == run_id))).mappings().all()
    return {row["node_id"]: row for row in rows}


def delay_chain(*delays: float) -> dict[str, Any]:
    """input → delay nodes → a template that names the topic."""
    names = [f"d{i}" for i in range(1, len(delays) + 1)]
    nodes = [{"id": "in", "type": "input", "config": {"fields": ["topic"]}},
             *({"id": name, "type": "delay", "config": {"seconds": seconds}}
               for name, seconds in zip(names, delays, strict=True)),
             {"id": "out", "type": "template", "config": {"template": "done: {{ in.topic }}"}}]
    order = ["in", *names, "out"]
    return {"nodes": nodes, "edges": [{"source": a, "target": b} for a, b in itertools.pairwise(order)]}


def worker_pid(lease_owner: str) -> int:
    """The pid in a worker identity ``host:pid:kind:suffix``."""
    return int(lease_owner.split(":")[1])
