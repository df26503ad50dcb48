"""What the Reflex app process does when it starts and stops, registered with ``app.register_lifespan_task``."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from services.analytics.recorder import flush_events
from services.process_heap import settle_heap

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def flush_analytics_on_shutdown() -> AsyncIterator[None]:
    """On shutdown, write the analytics events still buffered in this process (the recorder batches them)."""
    yield
    await flush_events()  # logs, never raises: a failed write must not block the shutdown
    log.debug("analytics events flushed at shutdown")


@contextlib.asynccontextmanager
async def settle_heap_at_start() -> AsyncIterator[None]:
    """Once everything is imported and built, freeze the start-up heap (see ``services.process_heap``)."""
    settle_heap()
    yield
