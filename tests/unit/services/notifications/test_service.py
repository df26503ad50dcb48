"""The notification service on both databases: idempotency, retries, failures, abandoned sends, bulk,
templates, preferences, the inbox, and the workflow notify node."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from models.base import utcnow
from models.notification import Delivery, DeliveryStatus, Notification, Priority
from models.run import RunStatus, Trigger
from models.user import Role, User
from models.workflow import WorkflowCreate
from services import errors
from services.db import open_session
from services.notifications import delivery, inbox, preferences, templates
from services.notifications import service as notifications
from services.notifications.channels.base import ChannelFailed
from services.notifications.dispatch import InProcessDeliveryQueue, use_delivery_queue
from services.notifications.schemas import BulkRequest, SendRequest, TemplateRef
from services.workflows import runs
from services.workflows import service as workflows
from tests.unit.services.notifications.conftest import CountingQueue, ScriptedChannel, make_user
from tests.unit.services.workflows.conftest import drain


def scripted_request(**overrides: Any) -> SendRequest:
    return SendRequest(**{"channel": "scripted", "recipient": "a@example.com", "subject": "Hi",
                          "message": "Hello", **overrides})


async def send(user: User | None, channels: Any, queue: CountingQueue, **overrides: Any) -> Any:
    async with open_session() as session:
        return await notifications.send(user, scripted_request(**overrides), session=session, channels=channels,
                                        queue=queue)


async def deliveries() -> list[Delivery]:
    async with open_session() as session:
        return list((await session.exec(select(Delivery))).all())


async def make_due() -> None:
    async with open_session() as session:
        await session.exec(update(Delivery).where(col(Delivery.status) == DeliveryStatus.QUEUED)
                           .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        await session.commit()


async def test_the_same_idempotency_key_twice_records_one_notification_and_one_delivery(
        editor: User, channels: Any, queue: CountingQueue, scripted: ScriptedChannel) -> None:
    first = await send(editor, channels, queue, idempotency_key="k-1")
    second = await send(editor, channels, queue, idempotency_key="k-1")
    assert (first.duplicate, second.duplicate) == (False, True)
    assert second.notification_id == first.notification_id and second.delivery_id == first.delivery_id
    assert len(await deliveries()) == 1 and queue.wakes == 1
    assert await delivery.deliver_next(channels=channels) == first.delivery_id
    assert await delivery.deliver_next(channels=channels) is None
    assert len(scripted.sent) == 1 and scripted.sent[0].idempotency_key == "k-1"


async def test_a_derived_key_makes_an_identical_repeat_a_no_op(editor: User, channels: Any,
                                                                queue: CountingQueue) -> None:
    first = await send(editor, channels, queue)
    assert (await send(editor, channels, queue)).notification_id == first.notification_id
    assert (await send(editor, channels, queue, message="Other")).notification_id != first.notification_id


async def test_a_retryable_failure_is_retried_on_the_schedule_then_sent(
        editor: User, channels: Any, queue: CountingQueue, scripted: ScriptedChannel,
        monkeypatch: pytest.MonkeyPatch) -> None:
    scripted.failures = [ChannelFailed("503", retryable=True), ChannelFailed("429", retryable=True, retry_after=900)]
    result = await send(editor, channels, queue)
    before = utcnow()
    assert await delivery.deliver(result.delivery_id, channels=channels) is DeliveryStatus.QUEUED
    row = (await deliveries())[0]
    assert row.attempts == 1 and row.last_error == "503"
    assert timedelta(seconds=5) <= row.next_attempt_at - before <= timedelta(seconds=6)  # type: ignore[operator]
    assert await delivery.deliver_next(channels=channels) is None  # not due yet
    await make_due()
    before = utcnow()
    assert await delivery.deliver(result.delivery_id, channels=channels) is DeliveryStatus.QUEUED
    row = (await deliveries())[0]
    # the schedule says 5 min; the provider's Retry-After (15 min) is longer and wins
    assert timedelta(seconds=900) <= row.next_attempt_at - before < timedelta(seconds=901)  # type: ignore[operator]
    await make_due()
    assert await delivery.wake_due() == 1
    assert await delivery.deliver(result.delivery_id, channels=channels) is DeliveryStatus.SENT
    row = (await deliveries())[0]
    assert (row.attempts, row.provider_message_id, row.response, row.last_error) == (3, "m-1", {"ok": True}, None)
    assert row.sent_at is not None


async def test_a_permanent_failure_is_failed_at_once(editor: User, channels: Any, queue: CountingQueue,
                                                     scripted: ScriptedChannel) -> None:
    scripted.failures = [ChannelFailed("550 no such mailbox", retryable=False)]
    result = await send(editor, channels, queue)
    assert await delivery.deliver(result.delivery_id, channels=channels) is DeliveryStatus.FAILED
    row = (await deliveries())[0]
    assert (row.attempts, row.last_error, row.next_attempt_at) == (1, "550 no such mailbox", None)


async def test_the_last_attempt_failing_makes_it_dead_and_alerts_admins_in_app(
        editor: User, channels: Any, queue: CountingQueue, scripted: ScriptedChannel,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from services.settings import get_settings

    admin = await make_user(Role.ADMIN)
    monkeypatch.setenv("NOTIFY_RETRY_SCHEDULE", "0,1")
    get_settings.cache_clear()
    use_delivery_queue(CountingQueue())
    try:
        scripted.failures = [ChannelFailed("timeout", retryable=True), ChannelFailed("timeout", retryable=True)]
        result = await send(editor, channels, queue)
        assert await delivery.deliver(result.delivery_id, channels=channels) is DeliveryStatus.QUEUED
        await make_due()
        assert await delivery.deliver(result.delivery_id, channels=channels) is DeliveryStatus.DEAD
    finally:
        use_delivery_queue(None)
        get_settings.cache_clear()
    async with open_session() as session:
        alerts = (await session.exec(select(Notification).where(col(Notification.user_id) == admin.id))).all()
    assert len(alerts) == 1 and alerts[0].channel == "in_app" and "gave up after 2 attempts" in alerts[0].body
    async with open_session() as session:
        retried = await notifications.retry(editor, result.notification_id, session=session, queue=queue)
    assert retried.status is DeliveryStatus.QUEUED


async def test_a_send_whose_worker_died_is_not_sent_again(editor: User, channels: Any, queue: CountingQueue,
                                                          scripted: ScriptedChannel) -> None:
    result = await send(editor, channels, queue)
    async with open_session() as session:  # claimed by a worker that then died mid-send
        await session.exec(update(Delivery).values(status=DeliveryStatus.SENDING, attempts=1,
                                                   lease_expires_at=utcnow() - timedelta(seconds=1)))
        await session.commit()
    assert await delivery.release_abandoned(channels=channels) == 1
    assert await delivery.deliver(result.delivery_id, channels=channels) is None
    row = (await deliveries())[0]
    assert row.status is DeliveryStatus.FAILED and row.last_error == delivery.OUTCOME_UNKNOWN
    assert scripted.calls == 0


async def test_bulk_to_a_thousand_recipients_reports_counts(editor: User, channels: Any,
                                                             queue: CountingQueue) -> None:
    recipients = [f"r{i}@example.com" for i in range(1000)] + ["r0@example.com"]
    async with open_session() as session:
        summary = await notifications.bulk(editor, BulkRequest(channel="scripted", recipients=recipients,
                                                               subject="S", message="M", idempotency_key="b1"),
                                           session=session, channels=channels, queue=queue)
    assert (summary.requested, summary.queued, summary.duplicates, summary.rejected) == (1001, 1000, 1, 0)
    async with open_session() as session:  # the same bulk again resumes: nothing new
        again = await notifications.bulk(editor, BulkRequest(channel="scripted", recipients=recipients[:10],
                                                             subject="S", message="M", idempotency_key="b1"),
                                         session=session, channels=channels, queue=queue)
    assert (again.queued, again.duplicates) == (0, 10)
    assert len(await deliveries()) == 1000


async def test_templates_render_and_a_syntax_error_names_the_field(editor: User, channels: Any,
                                                                   queue: CountingQueue,
                                                                   scripted: ScriptedChannel) -> None:
    async with open_session() as session:
        await templates.create(editor, templates.TemplateCreate(
            name="welcome", channel="scripted", subject="Hi {{ name }}", body="Welcome, {{ name }}!",
            sample_variables={"name": "Ada"}), session=session, channels=channels)
        with pytest.raises(errors.ValidationFailed) as refused:
            await templates.update(editor, "welcome", templates.TemplateWrite(
                channel="scripted", body="Hi {{ name "), session=session, channels=channels)
    assert refused.value.details[0]["field"] == "body"
    result = await send(editor, channels, queue, subject="", message="", template=TemplateRef(name="welcome"),
                        variables={"name": "Grace"})
    await delivery.deliver(result.delivery_id, channels=channels)
    assert (scripted.sent[0].subject, scripted.sent[0].text) == ("Hi Grace", "Welcome, Grace!")
    with pytest.raises(errors.ValidationFailed) as bad:
        await send(editor, channels, queue, message="{% if %}")
    assert bad.value.details[0]["field"] == "message"


async def test_an_opted_out_recipient_is_recorded_failed_and_quiet_hours_delay(
        editor: User, channels: Any, queue: CountingQueue) -> None:
    target = await make_user(Role.VIEWER)
    async with open_session() as session:
        await preferences.put(target, preferences.Preferences(
            rules=[preferences.PreferenceRule(category="marketing", channel="scripted", enabled=False)],
            quiet_hours=preferences.QuietHours(start="00:00", end="23:59", timezone="Europe/Paris")), session=session)
    opted_out = await send(editor, channels, queue, recipient=target.email, category="marketing")
    assert opted_out.status is DeliveryStatus.FAILED and opted_out.note == preferences.OPTED_OUT
    held = await send(editor, channels, queue, recipient=target.email, category="reports", message="later")
    assert held.status is DeliveryStatus.QUEUED and held.next_attempt_at > utcnow()
    urgent = await send(editor, channels, queue, recipient=target.email, category="reports",
                        priority=Priority.URGENT, message="now")
    assert urgent.next_attempt_at <= utcnow()
    assert queue.wakes == 1  # only the urgent one was due


def test_quiet_hours_across_midnight_end_the_next_morning_in_the_users_zone() -> None:
    quiet = preferences.QuietHours(start="22:00", end="07:00", timezone="America/New_York")
    late = datetime(2026, 1, 15, 4, 0, tzinfo=UTC)  # 23:00 in New York
    assert preferences.quiet_until(quiet, late) == datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    assert preferences.quiet_until(quiet, datetime(2026, 1, 15, 17, 0, tzinfo=UTC)) is None  # noon


async def test_inbox_read_unread_read_all_and_the_unread_count(editor: User, channels: Any,
                                                               queue: CountingQueue) -> None:
    reader = await make_user(Role.VIEWER)
    ids = []
    for n in range(3):
        result = await send(editor, channels, queue, channel="in_app", recipient=str(reader.id), message=f"n{n}")
        await delivery.deliver(result.delivery_id, channels=channels)
        ids.append(result.notification_id)
    async with open_session() as session:
        page = await inbox.get_all(reader, inbox.InboxFilter(), session=session)
        assert (page.unread, page.count, page.data[0].body) == (3, 3, "n2")
        await inbox.mark_read(reader, ids[0], session=session)
        assert await inbox.unread_count(reader, session=session) == 2
        await inbox.mark_unread(reader, ids[0], session=session)
        assert await inbox.unread_count(reader, session=session) == 3
        assert await inbox.mark_all_read(reader, session=session) == 3
        assert await inbox.unread_count(reader, session=session) == 0
        with pytest.raises(errors.NotFound):
            await inbox.mark_read(editor, ids[0], session=session)


async def test_a_notify_node_in_a_run_sends_in_app_to_the_runs_creator(editor: User) -> None:
    in_process = InProcessDeliveryQueue()
    use_delivery_queue(in_process)
    try:
        graph = {"nodes": [{"id": "in", "type": "input", "config": {}},
                           {"id": "tell", "type": "notify", "config": {"subject": "Done {{ params.x }}",
                                                                       "message": "Run {{ run.id }} finished"}}],
                 "edges": [{"source": "in", "target": "tell"}]}
        async with open_session() as session:
            workflow = await workflows.create(editor, WorkflowCreate(name="n", graph=graph), session=session)
            assert workflow.id is not None
            run = await runs.start_run(workflow.id, {"x": "{{7}}"}, session=session, trigger=Trigger.API,
                                       actor=editor)
        await drain()
        await in_process.drain()
    finally:
        use_delivery_queue(None)
    async with open_session() as session:
        detail = await runs.get_run(editor, run.id, session=session)
        assert detail.status is RunStatus.SUCCEEDED, detail.error
        tell = next(step for step in detail.steps if step.node_id == "tell")
        assert any(line.message.startswith("in_app notification to the run starter: ") for line in tell.logs)
        page = await inbox.get_all(editor, inbox.InboxFilter(), session=session)
    assert page.unread == 1
    item = page.data[0]
    assert (item.run_id, item.node_id, item.subject) == (run.id, "tell", "Done {{7}}")
    assert item.body == f"Run {run.id} finished"
    async with open_session() as session:
        sent = await notifications.get(editor, item.id, session=session)
    assert [(d.run_id, d.node_id, d.status) for d in sent.deliveries] == [(run.id, "tell", DeliveryStatus.SENT)]


async def test_a_template_reading_an_undeclared_variable_or_on_an_unknown_channel_is_refused_on_save(
        editor: User, channels: Any) -> None:
    async with open_session() as session:
        with pytest.raises(errors.ValidationFailed) as undeclared:
            await templates.create(editor, templates.TemplateCreate(
                name="invoice", channel="scripted", subject="Invoice for {{ customer.name }}",
                body="{% for line in lines %}{{ line }}{% endfor %} total {{ total }}",
                sample_variables={"lines": ["a"]}), session=session, channels=channels)
        assert undeclared.value.message.startswith("sample_variables: missing customer, total")
        assert "body uses total" in undeclared.value.message and "subject uses customer" in undeclared.value.message
        assert {d["field"] for d in undeclared.value.details} == {"sample_variables.customer",
                                                                  "sample_variables.total"}
        with pytest.raises(errors.ValidationFailed) as unknown:
            await templates.create(editor, templates.TemplateCreate(name="x", channel="pigeon", body="Hi"),
                                   session=session, channels=channels)
        assert unknown.value.details == [{"field": "channel", "message": "unknown channel"}]
        # what the template defines itself (set, loop names) and Jinja's own globals are not variables to give
        saved = await templates.create(editor, templates.TemplateCreate(
            name="counted", channel="scripted",
            body="{% set n = 2 %}{% for i in range(n) %}{{ i }}{{ sep }}{% endfor %}",
            sample_variables={"sep": ","}), session=session, channels=channels)
        assert saved.version == 1


async def test_a_template_send_missing_a_variable_names_it_instead_of_using_the_sample(
        editor: User, channels: Any, queue: CountingQueue, scripted: ScriptedChannel) -> None:
    async with open_session() as session:
        await templates.create(editor, templates.TemplateCreate(
            name="greet", channel="scripted", subject="Hi {{ name }}", body="{{ greeting }}, {{ name }}!",
            sample_variables={"name": "Ada", "greeting": "Hello"}), session=session, channels=channels)
    with pytest.raises(errors.ValidationFailed) as missing:
        await send(editor, channels, queue, subject="", message="", template=TemplateRef(name="greet"),
                   variables={"greeting": "Hey"})
    assert missing.value.message.startswith("variables: missing name (template 'greet' subject uses name")
    assert [d["field"] for d in missing.value.details] == ["variables.name", "variables.name"]
    assert len(await deliveries()) == 0
