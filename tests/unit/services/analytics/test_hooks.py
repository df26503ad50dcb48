"""The hooks produce events from real work: sign-in, workflow edits, a real run with its steps, AI calls, sends."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from models.notification import DeliveryStatus
from models.run import RunStatus, Trigger
from models.user import Role
from models.workflow import GraphUpdate, WorkflowCreate
from services.ai import service as ai
from services.ai import usage
from services.ai.base import GenerateRequest
from services.ai.pricing import price_of
from services.ai.response_cache import clear_memory_cache
from services.analytics.dashboard import load_dashboard
from services.analytics.recorder import EVENTS, flush_events, get_recorder
from services.auth import service as auth
from services.db import get_engine, open_session
from services.notifications import delivery
from services.notifications.channels.base import ChannelFailed
from services.notifications.dispatch import InProcessDeliveryQueue, get_delivery_queue
from services.workflows import runs
from services.workflows import service as workflows
from tests.fakes.openai_server import FakeOpenAIServer
from tests.settings_env import configure
from tests.unit.services.notifications.conftest import CountingQueue, ScriptedChannel, make_user
from tests.unit.services.notifications.test_service import send
from tests.unit.services.workflows.conftest import drain

GRAPH = {"nodes": [{"id": "in", "type": "input", "config": {}},
                   {"id": "draft", "type": "template", "config": {"template": "Hello"}},
                   {"id": "out", "type": "output", "config": {"title": "Report"}}],
         "edges": [{"source": "in", "target": "draft"}, {"source": "draft", "target": "out"}]}


async def events() -> list[dict[str, Any]]:
    await flush_events()
    async with get_engine().connect() as conn:
        return [dict(row) for row in (await conn.execute(select(EVENTS).order_by(EVENTS.c.id))).mappings()]


async def test_sign_in_workflow_edits_and_a_run_with_its_steps_become_events(analytics_db: str) -> None:
    user = await make_user(Role.EDITOR)
    async with open_session() as session:
        await auth.login(user.email, "amber-falcon-lantern-42", session=session)
    async with open_session() as session:
        workflow = await workflows.create(user, WorkflowCreate(name="w", graph=GRAPH), session=session)
        assert workflow.id is not None
        await workflows.save_graph(user, workflow.id, GraphUpdate(graph=GRAPH), session=session)
        run = await runs.start_run(workflow.id, {}, session=session, trigger=Trigger.API, actor=user)
    await drain()
    recorded = await events()
    kinds = [e["type"] for e in recorded]
    assert kinds[:4] == ["login", "workflow_created", "workflow_edited", "run_started"]
    assert recorded[0]["user_id"] == user.id and recorded[2]["payload"] == {"version": 2}
    assert (recorded[3]["run_id"], recorded[3]["workflow_id"], recorded[3]["user_id"], recorded[3]["payload"]) == (
        run.id, workflow.id, user.id, {"trigger": "api"})
    finished = next(e for e in recorded if e["type"] == "run_finished")
    assert (finished["run_id"], finished["workflow_id"], finished["status"], finished["user_id"]) == (
        run.id, workflow.id, RunStatus.SUCCEEDED.value, user.id)
    assert finished["duration_ms"] is not None and finished["duration_ms"] > 0
    steps = sorted((e["node_id"], e["status"]) for e in recorded if e["type"] == "step_finished")
    assert steps == [("draft", "succeeded"), ("in", "succeeded"), ("out", "succeeded")]


async def test_an_ai_call_with_a_fallback_records_the_failed_provider_too(analytics_db: str) -> None:
    entry = usage.UsageEntry(operation="generate", provider="builtin", model="m", input_tokens=3, output_tokens=4,
                             cost_usd=0.01, latency_ms=12.5, fallback_from=("openai",))
    await usage.record(entry, usage.CallContext())
    recorded = [(e["type"], e["provider"], e["status"], e["tokens"]) for e in await events()]
    assert recorded == [("ai_call", "openai", "failed", None), ("ai_call", "builtin", "succeeded", 7)]


async def test_a_cache_hit_is_an_ai_call_event_with_its_model_no_cost_and_the_cached_flag(
        analytics_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    request = GenerateRequest(prompt="Summarise the quarterly report", max_tokens=50)
    with FakeOpenAIServer() as server:
        configure(monkeypatch, OPENAI_API_KEY="sk-test-hooks-0123456789", OPENAI_BASE_URL=server.base_url,
                  AI_CACHE_TTL_SECONDS="60", AI_FALLBACK_CHAIN="")
        clear_memory_cache()
        first = await ai.generate(request, provider="openai")
        second = await ai.generate(request, provider="openai")
        clear_memory_cache()
    assert len(server.requests) == 1 and second.cached
    price = price_of("openai", "gpt-4o-mini")
    assert price is not None
    paid = (first.usage.input_tokens * price.input + first.usage.output_tokens * price.output) / 1e6
    calls = [e for e in await events() if e["type"] == "ai_call"]
    assert [(e["provider"], e["model"], e["status"], e["payload"]["cached"]) for e in calls] == [
        ("openai", "gpt-4o-mini", "succeeded", False), ("openai", "gpt-4o-mini", "succeeded", True)]
    assert calls[0]["cost_usd"] == pytest.approx(paid) and paid > 0
    assert calls[1]["cost_usd"] == 0.0  # answered from the cache: nothing paid
    assert calls[0]["tokens"] == calls[1]["tokens"] == first.usage.input_tokens + first.usage.output_tokens


AI_AND_NOTIFY = {"nodes": [{"id": "in", "type": "input", "config": {}},
                           {"id": "ai", "type": "ai_generate",
                            "config": {"prompt": "Summarise the week's sales figures", "provider": "builtin"}},
                           {"id": "tell", "type": "notify", "config": {"channel": "in_app", "message": "Done"}},
                           {"id": "out", "type": "output", "config": {}}],
                 "edges": [{"source": "in", "target": "ai"}, {"source": "ai", "target": "tell"},
                           {"source": "tell", "target": "out"}]}


async def test_ai_calls_and_deliveries_of_a_run_count_for_its_workflow(analytics_db: str) -> None:
    user = await make_user(Role.EDITOR)
    async with open_session() as session:
        workflow = await workflows.create(user, WorkflowCreate(name="digest", graph=AI_AND_NOTIFY), session=session)
        other = await workflows.create(user, WorkflowCreate(name="other", graph=GRAPH), session=session)
        assert workflow.id is not None and other.id is not None
        run = await runs.start_run(workflow.id, {}, session=session, trigger=Trigger.API, actor=user)
    await drain()
    queue = get_delivery_queue()
    assert isinstance(queue, InProcessDeliveryQueue)
    await queue.drain()  # the in-process sender delivered the notify node's in-app message
    recorded = await events()
    [call] = [e for e in recorded if e["type"] == "ai_call"]
    assert (call["workflow_id"], call["run_id"], call["node_id"], call["provider"]) == (
        workflow.id, run.id, "ai", "builtin")
    [sent] = [e for e in recorded if e["type"] == "notification_sent"]
    assert (sent["workflow_id"], sent["run_id"], sent["channel"]) == (workflow.id, run.id, "in_app")

    chosen = await load_dashboard(user, "day", workflow_id=workflow.id)
    assert chosen.summary.current.ai_calls == 1 and chosen.summary.current.ai_tokens == call["tokens"] > 0
    assert sum(p.value or 0 for s in chosen.ai_tokens_by_model.series for p in s.points) == call["tokens"]
    assert chosen.summary.current.notifications_sent == 1
    assert [(d.channel, d.status, d.count) for d in chosen.deliveries] == [("in_app", "sent", 1)]
    unrelated = await load_dashboard(user, "day", workflow_id=other.id)
    assert (unrelated.summary.current.ai_calls, unrelated.deliveries) == (0, [])


async def test_notification_sent_and_failed_deliveries_become_events(analytics_db: str) -> None:
    get_recorder().discard_pending()
    user = await make_user(Role.EDITOR)
    scripted, queue = ScriptedChannel(), CountingQueue()
    channels = {"scripted": scripted}.__getitem__
    sent = await send(user, channels, queue)
    assert await delivery.deliver(sent.delivery_id, channels=channels) is DeliveryStatus.SENT
    scripted.failures = [ChannelFailed("550 no such mailbox", retryable=False)]
    failed = await send(user, channels, queue, recipient="b@example.com")
    assert await delivery.deliver(failed.delivery_id, channels=channels) is DeliveryStatus.FAILED
    recorded = [(e["type"], e["channel"], e["status"]) for e in await events() if e["channel"]]
    assert recorded == [("notification_sent", "scripted", "sent"), ("notification_failed", "scripted", "failed")]


async def test_page_views_and_dashboard_actions_are_user_activity(analytics_db: str) -> None:
    from services.analytics import hooks
    from services.analytics.series import timeseries
    from services.analytics.windows import resolve_window

    user = await make_user(Role.VIEWER)
    hooks.record_page_view(user.id, "/analytics?next=/x")
    hooks.record_ui_action(user.id, "analytics.time_range", value="day")
    recorded = await events()
    assert [(e["type"], e["payload"]) for e in recorded if e["user_id"] == user.id] == [
        ("page_view", {"path": "/analytics"}), ("ui_action", {"action": "analytics.time_range", "value": "day"})]
    active = await timeseries("active_users", bucket="day", window=resolve_window("day"))
    assert sum(p.value or 0 for s in active.series for p in s.points) == 1  # one user, counted once
