"""A webhook notification whose worker is killed with ``kill -9`` in the middle of the request is
sent again by another worker with the same idempotency key, so the receiver delivers it once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from models.notification import Delivery, DeliveryStatus
from models.user import Role, UserCreate
from services.auth import service as auth
from services.db import open_session
from services.notifications import service as notifications
from services.notifications.channels.webhook import IDEMPOTENCY_HEADER
from services.notifications.schemas import SendRequest
from tests.chaos.conftest import PASSWORD
from tests.fakes.http_peers import Answer, RecordingHTTPServer
from tests.infra import REDIS_TEST_URL, require_server, truncate_all
from tests.workers import WorkerProcesses

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
SECRET = "whsec-chaos-0123456789-abcdefghijklmnop"
SETTINGS = {"WEBHOOK_SIGNING_SECRET": SECRET, "OUTBOUND_ALLOWLIST": "127.0.0.1", "NOTIFY_SEND_TIMEOUT_SECONDS": "3"}


@pytest.fixture
def receiver() -> Iterator[RecordingHTTPServer]:
    with RecordingHTTPServer() as server:
        yield server


@pytest.fixture
async def cluster(request: pytest.FixtureRequest, tmp_path: Path, configure: Any) -> AsyncIterator[WorkerProcesses]:
    require_server("Redis", "127.0.0.1", 6379)
    client = redis.Redis.from_url(REDIS_TEST_URL)
    client.flushdb()
    url = str(request.getfixturevalue("postgres_live_url"))
    await asyncio.to_thread(truncate_all, url)
    await configure(DATABASE_URL=url, REDIS_URL=REDIS_TEST_URL, **SETTINGS)
    setup = WorkerProcesses(database_url=url, redis_url=REDIS_TEST_URL, log_dir=tmp_path, settings=SETTINGS)
    yield setup
    setup.stop()
    client.flushdb()
    client.close()


async def _delivery(delivery_id: uuid.UUID) -> Delivery:
    async with open_session() as session:
        found = await session.get(Delivery, delivery_id)
        assert found is not None
        return found


async def test_a_webhook_whose_worker_dies_mid_send_is_delivered_exactly_once(
        cluster: WorkerProcesses, receiver: RecordingHTTPServer) -> None:
    async with open_session() as session:
        editor = await auth.register(UserCreate(email="editor@example.com", password=PASSWORD), session=session)
        editor.role = Role.EDITOR
        session.add(editor)
        await session.commit()
    receiver.answer_next(Answer(delay=12))  # the first request hangs: the worker dies while waiting for it
    first = cluster.start_worker()
    async with open_session() as session:
        sent = await notifications.send(editor, SendRequest(channel="webhook", recipient=receiver.url("/hook"),
                                                            subject="Run finished", message="All green"),
                                        session=session)

    async def request_arrived() -> bool:
        return len(receiver.requests) >= 1

    await cluster.wait_for(request_arrived, what="the webhook request to reach the receiver")
    cluster.kill_9(first)
    assert (await _delivery(sent.delivery_id)).status is DeliveryStatus.SENDING
    cluster.start_worker()

    async def delivered() -> bool:
        return (await _delivery(sent.delivery_id)).status is DeliveryStatus.SENT

    await cluster.wait_for(delivered, what="the delivery to be sent by the second worker", within=40)
    await asyncio.sleep(1)  # nothing else arrives later
    keys = [request.headers[IDEMPOTENCY_HEADER.lower()] for request in receiver.requests]
    assert len(keys) == 2 and len(set(keys)) == 1, keys  # one repeat, which the receiver recognises
    assert [request.json()["id"] for request in receiver.requests] == keys
    row = await _delivery(sent.delivery_id)
    assert row.attempts == 2 and row.last_error is None
