"""The http_request node in real runs against a real HTTP server on 127.0.0.1: retries of
retryable answers, no retry of a 4xx, and the SSRF guard refusing loopback without an allowlist.

Runs go through the engine on a real database (``live_db``); nothing of ours is mocked.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from models.run import RunStatus, StepStatus
from models.user import User
from services.settings import get_settings
from tests.fakes.http_peers import RecordingHTTPServer
from tests.unit.services.workflows.test_engine import edge, node, run_graph, steps_by_node

ITEM = {"id": "42", "name": "widget", "tags": ["a", "b"]}


class _Handler(BaseHTTPRequestHandler):
    server: FlakyServer

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.paths.append(self.path)
            status = self.server.fail_status if len(self.server.paths) <= self.server.failures else 200
        payload = {**ITEM, "padding": "x" * self.server.padding} if self.server.padding else ITEM
        body = json.dumps(payload if status == 200 else {"error": f"status {status}"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


class FlakyServer(ThreadingHTTPServer):
    """Answers ``fail_status`` to the first ``failures`` requests, then 200 with ITEM as JSON."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.paths: list[str] = []
        self.failures = 0
        self.fail_status = 503
        self.padding = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_port}{path}"


@pytest.fixture
def server() -> Iterator[FlakyServer]:
    running = FlakyServer()
    thread = threading.Thread(target=running.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield running
    finally:
        running.shutdown()
        running.server_close()
        thread.join(5)


@pytest.fixture
def allowlist(live_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Settings with OUTBOUND_ALLOWLIST unset; tests that call the server set it to 127.0.0.1."""
    for name in ("OUTBOUND_ALLOWLIST", "DWC_OUTBOUND_ALLOWLIST"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("OUTBOUND_ALLOWLIST", raising=False)
    get_settings.cache_clear()


def allow_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTBOUND_ALLOWLIST", "127.0.0.1")
    get_settings.cache_clear()


def fetch_item_graph(server: FlakyServer) -> dict[str, Any]:
    """input(item) -> http_request GET /items/{{ in.item }} (2 retries, 10 ms backoff) -> output (JSON)."""
    return {"nodes": [node("in", "input", fields=["item"]),
                      node("call", "http_request", url=server.url("/items/{{ in.item }}"), retries=2,
                           retry_backoff_seconds=0.01, request_timeout_seconds=5),
                      node("out", "output", format="json", title="Item {{ in.item }}")],
            "edges": [edge("in", "call"), edge("call", "out")]}


@pytest.mark.usefixtures("allowlist")
async def test_a_503_is_retried_until_the_server_answers(
    editor: User, server: FlakyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    allow_loopback(monkeypatch)
    server.failures = 2
    detail = await run_graph(editor, fetch_item_graph(server), {"item": "42"})
    assert detail.status is RunStatus.SUCCEEDED, detail.error
    assert server.paths == ["/items/42"] * 3
    steps = steps_by_node(detail)
    call = steps["call"]
    assert (call.status, call.attempt, call.error) == (StepStatus.SUCCEEDED, 3, None)
    assert call.output["status_code"] == 200 and call.output["json"] == ITEM
    assert json.loads(call.output["content"]) == ITEM
    assert call.output["metadata"]["url"] == server.url("/items/42")
    log = [(line.level, line.message) for line in call.logs]
    answered = f"GET {server.url('/items/42')} answered HTTP"
    assert [message.split(" in ")[0] for _, message in log] == [
        "attempt 1 started", f"{answered} 503", f"attempt 1 failed: {answered} 503", "retrying",
        "attempt 2 started", f"{answered} 503", f"attempt 2 failed: {answered} 503", "retrying",
        "attempt 3 started", f"{answered} 200", "attempt 3 succeeded"]
    assert [level for level, _ in log][1:4] == ["warning", "error", "warning"]
    assert json.loads(steps["out"].output["content"]) == ITEM
    assert detail.documents[0]["title"] == "Item 42"


@pytest.mark.usefixtures("allowlist")
async def test_a_text_answer_is_the_content_of_a_succeeded_step(editor: User, monkeypatch: pytest.MonkeyPatch) -> None:
    allow_loopback(monkeypatch)
    with RecordingHTTPServer() as receiver:  # answers 200 with the plain text "ok"
        graph = {"nodes": [node("in", "input", fields=["topic"]),
                           node("call", "http_request", method="POST", url=receiver.url("/notes"),
                                body="{{ in.topic }}")],
                 "edges": [edge("in", "call")]}
        detail = await run_graph(editor, graph, {"topic": "otters"})
    assert detail.status is RunStatus.SUCCEEDED, detail.error
    assert [(r.method, r.path, r.body) for r in receiver.requests] == [("POST", "/notes", b"otters")]
    call = steps_by_node(detail)["call"]
    assert (call.output["content"], call.output["status_code"]) == ("ok", 200)
    assert "json" not in call.output


@pytest.mark.usefixtures("allowlist")
async def test_retries_stop_after_the_configured_number(
    editor: User, server: FlakyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    allow_loopback(monkeypatch)
    server.failures = 10
    detail = await run_graph(editor, fetch_item_graph(server), {"item": "42"})
    assert detail.status is RunStatus.FAILED
    assert len(server.paths) == 3  # the first attempt and 2 retries
    call = steps_by_node(detail)["call"]
    assert (call.status, call.attempt) == (StepStatus.FAILED, 3)
    assert call.error == f"GET {server.url('/items/42')} answered HTTP 503"
    assert call.logs[-1].message == "no retries left (2 allowed)"
    assert detail.error == f"node 'call' failed: {call.error}"
    assert "out" not in steps_by_node(detail)


@pytest.mark.usefixtures("allowlist")
async def test_a_404_fails_at_once_without_retry(
    editor: User, server: FlakyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    allow_loopback(monkeypatch)
    server.failures, server.fail_status = 10, 404
    detail = await run_graph(editor, fetch_item_graph(server), {"item": "missing"})
    assert detail.status is RunStatus.FAILED
    assert server.paths == ["/items/missing"]
    call = steps_by_node(detail)["call"]
    assert (call.status, call.attempt) == (StepStatus.FAILED, 1)
    assert call.error == f"GET {server.url('/items/missing')} answered HTTP 404"
    assert detail.error == f"node 'call' failed: GET {server.url('/items/missing')} answered HTTP 404"


@pytest.mark.usefixtures("allowlist")
async def test_loopback_is_refused_without_the_allowlist_and_never_contacted(
    editor: User, server: FlakyServer
) -> None:
    detail = await run_graph(editor, fetch_item_graph(server), {"item": "42"})
    assert detail.status is RunStatus.FAILED
    assert server.paths == []
    call = steps_by_node(detail)["call"]
    assert (call.status, call.attempt) == (StepStatus.FAILED, 1)  # a refusal is not retried
    assert call.error == (
        "127.0.0.1 is a loopback address; outbound requests to private networks are refused unless "
        "the host is listed in OUTBOUND_ALLOWLIST."
    )
    assert detail.error == f"node 'call' failed: {call.error}"


@pytest.mark.usefixtures("allowlist")
async def test_a_body_over_the_byte_cap_is_not_retried(
    editor: User, server: FlakyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    allow_loopback(monkeypatch)
    monkeypatch.setenv("OUTBOUND_MAX_BYTES", "1024")
    get_settings.cache_clear()
    server.padding = 4096
    detail = await run_graph(editor, fetch_item_graph(server), {"item": "42"})
    assert detail.status is RunStatus.FAILED
    assert server.paths == ["/items/42"]  # ResponseTooLarge says retrying cannot help
    call = steps_by_node(detail)["call"]
    assert call.attempt == 1
    assert call.error == ("The response from 127.0.0.1 is larger than 1024 bytes; request a smaller resource or "
                          "raise OUTBOUND_MAX_BYTES.")
