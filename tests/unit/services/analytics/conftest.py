"""Events written straight into a ``live_db`` database, and a recorder emptied between tests."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import pytest

from models.analytics import EventType
from models.workflow import Workflow, WorkflowStatus
from services.analytics.recorder import get_recorder, insert_events
from services.db import open_session


@pytest.fixture
async def analytics_db(live_db: str) -> str:
    get_recorder().discard_pending()  # events other tests queued belong to their databases
    return live_db


def event(kind: EventType, at: datetime, **fields: Any) -> dict[str, Any]:
    return {"type": kind.value, "time": at, **fields}


async def write(rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 2000):
        await insert_events(rows[start:start + 2000])


@pytest.fixture
def make_workflow(analytics_db: str) -> Callable[..., Awaitable[int]]:
    async def _make(name: str, status: WorkflowStatus = WorkflowStatus.ACTIVE) -> int:
        async with open_session() as session:
            workflow = Workflow(name=name, status=status)
            session.add(workflow)
            await session.commit()
            assert workflow.id is not None
            return workflow.id

    return _make


def user() -> uuid.UUID:
    return uuid.uuid4()
