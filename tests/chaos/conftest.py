"""Faults injected into real processes: worker processes killed with ``kill -9``, a throwaway Redis
stopped or flushed, a throwaway PostgreSQL cluster restarted. Never the shared servers."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
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

RUNS = Run.__table__  # type: ignore[attr-defined]
STEPS = Step.__table__  # type: ignore[attr-defined]
PASSWORD = "amber-falcon-lantern-42"


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
