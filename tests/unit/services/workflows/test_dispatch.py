"""Handing a committed run to the Redis queue: a queue that answers takes it; one that does not answer
(a stopped redis-server: connections open, no replies) leaves it queued in the database after
``DISPATCH_TIMEOUT_SECONDS`` instead of holding the caller."""

from __future__ import annotations

import signal
import uuid
from collections.abc import AsyncIterator

import pytest

from services.workflows import runtime
from tests.infra import require_server
from tests.processes import free_port, redis_server
from tests.settings_env import configure

pytestmark = pytest.mark.redis


@pytest.fixture
async def reset_dispatcher() -> AsyncIterator[None]:
    await runtime.reset_dispatcher()
    yield
    await runtime.reset_dispatcher()


async def test_a_queue_that_does_not_answer_leaves_the_run_to_the_database(
        monkeypatch: pytest.MonkeyPatch, reset_dispatcher: None) -> None:
    require_server("Redis", "127.0.0.1", 6379)  # the binary is the shared server's
    port = free_port()
    with redis_server(port) as server:
        configure(monkeypatch, REDIS_URL=f"redis://127.0.0.1:{port}/0")
        monkeypatch.setattr(runtime, "DISPATCH_TIMEOUT_SECONDS", 0.2)
        assert await runtime.dispatch_committed(uuid.uuid4())
        server.send_signal(signal.SIGSTOP)
        try:
            assert not await runtime.dispatch_committed(uuid.uuid4())
        finally:
            server.send_signal(signal.SIGCONT)
        assert await runtime.dispatch_committed(uuid.uuid4())  # answering again: taken again
        await runtime.reset_dispatcher()
