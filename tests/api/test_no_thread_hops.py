"""Every API handler and dependency is a coroutine: FastAPI runs a plain ``def`` in its thread pool.

A synchronous dependency cost a thread hop on every call that used it (``get_claims`` alone was
about half of the CPU of ``GET /auth/me``); this keeps a new one from slipping in unnoticed. A
handler that truly blocks should say so by calling ``run_in_threadpool`` itself.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from dashboard.api.app import create_api


def _api_routes(routes: list[BaseRoute]) -> Iterator[APIRoute]:
    """Every ``APIRoute``, also those of included routers (FastAPI keeps those as branches)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif (router := getattr(route, "original_router", None)) is not None:
            yield from _api_routes(router.routes)


def _calls(dependant: Dependant, where: str) -> Iterator[tuple[str, object]]:
    if dependant.call is not None:
        yield where, dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub, where)


def _runs_on_the_loop(call: object) -> bool:
    """A coroutine or async generator function, or an instance (HTTPBearer) whose ``__call__`` is one."""
    def on_loop(function: object) -> bool:
        return inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function)

    return on_loop(call) or (not inspect.isfunction(call) and on_loop(type(call).__call__))


def test_every_handler_and_dependency_is_async() -> None:
    routes = list(_api_routes(create_api().routes))
    assert len(routes) > 50
    synchronous = sorted({f"{where}: {getattr(call, '__qualname__', call)}"
                          for route in routes
                          for where, call in _calls(route.dependant, f"{sorted(route.methods)[0]} {route.path}")
                          if not _runs_on_the_loop(call)})
    assert synchronous == []
