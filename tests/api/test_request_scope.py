"""What a request's dependencies open is closed after the response, in reverse order, with the request's error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from starlette.types import Message, Receive, Scope, Send

from dashboard.api.deps import get_session
from dashboard.api.request_scope import RequestScope, exit_stack_of


@asynccontextmanager
async def _held(events: list[str], name: str) -> AsyncIterator[str]:
    events.append(f"open {name}")
    try:
        yield name
    except RuntimeError as error:
        events.append(f"{name} saw {error}")
        raise
    finally:
        events.append(f"close {name}")


async def _resources(request: Request) -> str:
    events: list[str] = request.app.state.events
    stack = exit_stack_of(request.scope)
    return await stack.enter_async_context(_held(events, "a")) + await stack.enter_async_context(_held(events, "b"))


Resources = Annotated[str, Depends(_resources)]


async def _needs_session(_session: Annotated[object, Depends(get_session)]) -> None:
    return None


def _app(events: list[str]) -> FastAPI:
    api = FastAPI()
    api.state.events = events

    @api.get("/ok")
    async def ok(value: Resources) -> dict[str, str]:
        events.append("handler")
        return {"value": value}

    @api.get("/fails")
    async def fails(value: Resources) -> None:
        raise RuntimeError("boom")

    api.add_middleware(RequestScope)
    return api


def _noting_the_response(app: FastAPI, events: list[str]) -> object:
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        async def noting(message: Message) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body"):
                events.append("response sent")
            await send(message)

        await app(scope, receive, noting)

    return wrapped


async def test_what_a_dependency_opened_is_closed_after_the_response_in_reverse_order() -> None:
    events: list[str] = []
    transport = httpx.ASGITransport(app=_noting_the_response(_app(events), events))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        answer = await http.get("/ok")
    assert answer.json() == {"value": "ab"}
    assert events == ["open a", "open b", "handler", "response sent", "close b", "close a"]


async def test_the_requests_error_reaches_what_it_opened() -> None:
    events: list[str] = []
    transport = httpx.ASGITransport(app=_app(events), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        assert (await http.get("/fails")).status_code == 500
    assert events == ["open a", "open b", "b saw boom", "close b", "a saw boom", "close a"]


async def test_a_session_asked_for_without_the_middleware_is_a_clear_error() -> None:
    api = FastAPI()
    api.get("/s")(_needs_session)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://t") as http:
        with pytest.raises(RuntimeError, match="RequestScope"):
            await http.get("/s")
