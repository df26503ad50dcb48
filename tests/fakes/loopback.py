"""The part every loopback HTTP fake shares: a Starlette app served by uvicorn on a free port, in a thread.

A fake subclasses :class:`LoopbackHTTPServer`, passes its routes, and records requests under
``self._lock``; ``with Fake() as server:`` serves until the block ends. ``delay_next`` programs
slowness that the fake's handlers take with :meth:`LoopbackHTTPServer._next_delay`.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Generic, Self, TypeVar

import uvicorn
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from tests.processes import free_port

RequestT = TypeVar("RequestT")


class LoopbackHTTPServer(Generic[RequestT]):
    """Serves ``routes`` on ``host`` at a free port; ``requests`` holds what the fake chose to record."""

    def __init__(self, routes: Sequence[BaseRoute], *, name: str, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = free_port()
        self.name = name
        self.requests: list[RequestT] = []
        self._delays: deque[float] = deque()
        self._lock = threading.Lock()
        app = Starlette(routes=list(routes))
        self._server = uvicorn.Server(uvicorn.Config(app, host=host, port=self.port, log_level="warning",
                                                     lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, name=name, daemon=True)

    def delay_next(self, seconds: float) -> None:
        """Wait ``seconds`` before answering the next request."""
        with self._lock:
            self._delays.append(seconds)

    def reset(self) -> None:
        """Forget recorded requests and everything programmed."""
        with self._lock:
            self.requests.clear()
            self._delays.clear()
            self._forget()

    def _forget(self) -> None:
        """Clear what the subclass programs (called under the lock)."""

    def _next_delay(self) -> float:
        """The programmed delay for the request being answered (call under the lock)."""
        return self._delays.popleft() if self._delays else 0.0

    def __enter__(self) -> Self:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the {self.name} server did not start on port {self.port}")
            time.sleep(0.01)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
