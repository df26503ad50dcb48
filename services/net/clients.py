"""SDK clients kept per event loop and per connection settings.

Building an SDK client costs tens of milliseconds (a fresh SSL context loads the whole CA
bundle), far more than a call to a nearby server. A client's connection pool belongs to the
event loop it first ran on, so clients are kept per loop; they go when their loop goes.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")
_MAX_PER_LOOP = 16
_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Hashable, Any]] = weakref.WeakKeyDictionary()


def client_for(key: Hashable, build: Callable[[], T]) -> T:
    """The running loop's client for ``key`` (connection settings), built on first use."""
    clients = _by_loop.setdefault(asyncio.get_running_loop(), {})
    client = clients.get(key)
    if client is None:
        if len(clients) >= _MAX_PER_LOOP:  # settings changed many times (tests): start over
            clients.clear()
        client = clients[key] = build()
    return client
