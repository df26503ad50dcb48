"""The hooks produce events from real work: sign-in, workflow edits, a real run with its steps, AI calls, sends."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from models.notification import DeliveryStatus
from models.run import RunStatus, Trigger
from models.user import Role
from models.workflow import GraphUpdate, WorkflowCreate
from services.ai import usage
from services.analytics.recorder import EVENTS, flush_events, get_recorder
from services.auth import service as auth
from services.db import get_engine, open_session
from services.notifications import delivery
from services.notifications.channels.base import ChannelFailed
from services.workflows import runs
from services.workflows import service as workflows
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
