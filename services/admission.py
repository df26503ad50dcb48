"""Admission control: at most so many callers at once inside a piece of work, the others waiting their turn.

Under a burst (200 webhook clients on two processes) every request that started its database work
holds a pooled connection while it waits for the event loop, which is busy with all the others: the
connections are held longer, the pool runs dry, and requests time out in it (``pool_timeout``) with
503s although the database is merely busy. A gate in front of the work keeps the requests in flight
few enough to hold their connections briefly; the rest wait here, in order, without holding
anything, and a caller that waited ``wait_seconds`` in vain gets ``Overloaded`` (503). A database
that is down still fails fast: the callers let in fail at once (connection refused) and let the next in.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from services import errors


class AdmissionGate:
    """``limit()`` callers at a time inside ``admitted()`` per event loop; the others wait, first come first in."""

    def __init__(self, what: str, *, limit: Callable[[], int], wait_seconds: Callable[[], float]) -> None:
        self.what = what
        self._limit = limit
        self._wait_seconds = wait_seconds
        # An asyncio.Semaphore belongs to one loop (tests run several, one after another); a new limit
        # (settings reloaded) takes a new one, and whoever is inside gives its place back to the old one.
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[int, asyncio.Semaphore]] = \
            weakref.WeakKeyDictionary()

    def _gate(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        limit = self._limit()
        known = self._gates.get(loop)
        if known is None or known[0] != limit:
            known = self._gates[loop] = (limit, asyncio.Semaphore(limit))
        return known[1]

    @asynccontextmanager
    async def admitted(self) -> AsyncIterator[None]:
        """Wait for a place (``Overloaded`` after ``wait_seconds``), hold it for the block."""
        gate = self._gate()
        if gate.locked():
            wait_seconds = self._wait_seconds()
            try:
                async with asyncio.timeout(wait_seconds):
                    await gate.acquire()
            except TimeoutError:
                raise errors.Overloaded(
                    f"The server is too busy to take {self.what} now (waited {wait_seconds:g} s); try again shortly.",
                    retry_after=1) from None
        else:
            await gate.acquire()  # a free place: taken without suspending
        try:
            yield
        finally:
            gate.release()
