"""Who is asking, from where, under which request and run: context variables every log line and audit entry reads.

The API middleware binds the request id and client IP for each HTTP request, a UI event binds them
for its task, and the engine binds the run id while it executes a run. Context variables follow
``await`` and tasks created inside them, so nothing has to pass these values by hand.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import re
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

request_id_var: ContextVar[str] = ContextVar("dwc_request_id", default="")
client_ip_var: ContextVar[str] = ContextVar("dwc_client_ip", default="")
run_id_var: ContextVar[str] = ContextVar("dwc_run_id", default="")

_T = TypeVar("_T")

# A caller's X-Request-ID is kept only if it is short and plain, so it cannot forge log lines.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def new_request_id() -> str:
    """A fresh random request id (32 hex characters: 128 random bits, as a UUID4's hex has 122)."""
    return os.urandom(16).hex()


def accepted_request_id(offered: str | None) -> str:
    """The caller's request id when it is safe to echo, else a new one."""
    if offered and _SAFE_REQUEST_ID.match(offered):
        return offered
    return new_request_id()


def bind_request(request_id: str, client_ip: str) -> None:
    """Set the request id and client IP for the rest of the current task."""
    request_id_var.set(request_id)
    client_ip_var.set(client_ip)


@contextmanager
def bound_run(run_id: str) -> Iterator[None]:
    """Within the block, log lines carry ``run_id``."""
    token = run_id_var.set(run_id)
    try:
        yield
    finally:
        run_id_var.reset(token)


def current_request_id() -> str:
    return request_id_var.get()


def current_client_ip() -> str:
    return client_ip_var.get()


def current_run_id() -> str:
    return run_id_var.get()


def start_process_task(coro: Coroutine[Any, Any, _T], *, name: str | None = None) -> asyncio.Task[_T]:
    """A task that works for the whole process (a flusher, a maintenance loop), not for the request
    that happened to start it: it runs in a context of its own, so its log lines carry no request id."""
    return asyncio.get_running_loop().create_task(coro, name=name, context=contextvars.Context())
