"""Webhook calls under a burst: past ``WEBHOOK_CONCURRENCY`` they wait their turn rather than queue in the
connection pool, and one that waited past ``WEBHOOK_QUEUE_SECONDS`` gets a 503 that says when to retry; each run
is audited with the call's request id and address."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import func, select

from models.run import Run
from models.user import Role
from services.db import dispose_engine, open_session
from tests.api.conftest import Headers, account
from tests.settings_env import configure

GRAPH = {"nodes": [{"id": "in", "type": "input", "config": {"fields": ["topic"]}},
                   {"id": "t", "type": "template", "config": {"template": "{{ in.topic }}"}}],
         "edges": [{"source": "in", "target": "t"}]}
BURST = 24


async def _hook(live: httpx.AsyncClient) -> str:
    editor: Headers = await account(live, "hooks@example.com", Role.EDITOR)
    created = await live.post("/api/v3/workflows", headers=editor, json={"name": "hooked", "graph": GRAPH})
    hook = await live.post(f"/api/v3/workflows/{created.json()['id']}/webhooks", headers=editor)
    return str(hook.json()["url_path"])


async def _runs() -> int:
    async with open_session() as session:
        return int((await session.exec(select(func.count()).select_from(Run))).one()[0])  # type: ignore[call-overload]


async def test_a_burst_larger_than_the_pool_is_served_in_turn_without_a_single_503(
        live: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    # Pools that time out at once: only the gate keeps the burst (more calls than the webhook pool has
    # connections) from waiting in one. The runs execute here, one at a time, on the main pool.
    configure(monkeypatch, WEBHOOK_CONCURRENCY="1", DATABASE_POOL_TIMEOUT_SECONDS="0.001", WORKER_CONCURRENCY="1")
    await dispose_engine()
    hook = await _hook(live)
    answers = await asyncio.gather(*(live.post(hook, json={"topic": f"t{n}"}) for n in range(BURST)))
    assert [answer.status_code for answer in answers] == [202] * BURST, answers[0].text
    assert len({answer.json()["run_id"] for answer in answers}) == BURST
    assert await _runs() == BURST


async def test_a_call_that_waited_its_turn_too_long_gets_a_503_with_retry_after_and_starts_nothing(
        live: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, WEBHOOK_CONCURRENCY="1", WEBHOOK_QUEUE_SECONDS="0.001")
    hook = await _hook(live)
    answers = await asyncio.gather(*(live.post(hook, json={"topic": f"t{n}"}) for n in range(BURST)))
    refused = [answer for answer in answers if answer.status_code == 503]
    assert refused, "the burst should have queued behind the one call let in"
    assert {answer.status_code for answer in answers} == {202, 503}
    assert refused[0].headers["Retry-After"] == "1"
    assert refused[0].json()["error"]["code"] == "service_unavailable"
    assert "too busy" in refused[0].json()["error"]["message"]
    assert await _runs() == BURST - len(refused)


async def test_a_webhook_run_is_audited_with_the_calls_request_id_and_ip(live: httpx.AsyncClient) -> None:
    admin = await account(live, "root@example.com", Role.ADMIN)
    hook = await _hook(live)
    for n in range(2):  # the first call reads the hook, the second is the one-statement path
        answer = await live.post(hook, json={"topic": "traced"}, headers={"X-Request-ID": f"trace-hook-{n}"})
        assert answer.status_code == 202 and answer.headers["X-Request-ID"] == f"trace-hook-{n}"
        run_id = answer.json()["run_id"]
        entries = (await live.get("/api/v3/audit", headers=admin, params={"target": f"run:{run_id}"})).json()["data"]
        assert [(e["action"], e["actor_email"], e["ip"], e["request_id"]) for e in entries] == [
            ("run_started", None, "127.0.0.1", f"trace-hook-{n}")]
        assert entries[0]["details"]["trigger"] == "webhook"
