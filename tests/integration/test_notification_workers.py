"""Notifications on the real Redis queue and PostgreSQL: a ``python -m services.workflows.worker`` process
sends what this process queued (in-app and email to a loopback SMTP server), its inbox events reach a
subscriber here over Redis pub/sub, and its maintenance loop sends the digest."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlmodel import col, select

from models.notification import Delivery, DeliveryStatus, Notification
from models.user import Role, User, UserCreate
from services.auth import service as auth
from services.db import dispose_engine, open_session
from services.notifications import dispatch, preferences
from services.notifications import service as notifications
from services.notifications.inbox_events import inbox_topic
from services.notifications.schemas import SendRequest
from services.settings import get_settings
from services.workflows import runtime
from services.workflows.events import get_event_bus
from tests.fakes.smtp_server import FakeSMTPServer
from tests.infra import REDIS_TEST_URL, require_server, truncate_all
from tests.workers import WorkerProcesses

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
SENDER = "Workflows <workflows@example.com>"


@pytest.fixture
def smtp() -> Iterator[FakeSMTPServer]:
    with FakeSMTPServer() as server:
        yield server


@pytest.fixture
async def workers(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                  smtp: FakeSMTPServer) -> AsyncIterator[WorkerProcesses]:
    """PostgreSQL and Redis configured here (no SMTP: only a worker can send email), workers stopped after."""
    require_server("Redis", "127.0.0.1", 6379)
    client = redis.Redis.from_url(REDIS_TEST_URL)
    client.flushdb()
    url = str(request.getfixturevalue("postgres_live_url"))
    await asyncio.to_thread(truncate_all, url)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("REDIS_URL", REDIS_TEST_URL)
    get_settings.cache_clear()
    await runtime.reset_dispatcher()
    await dispatch.reset_delivery_queue()
    await dispose_engine()
    setup = WorkerProcesses(database_url=url, redis_url=REDIS_TEST_URL, log_dir=tmp_path, settings={
        "WORKER_CONCURRENCY": "4", "SMTP_HOST": smtp.host, "SMTP_PORT": str(smtp.port), "SMTP_FROM": SENDER,
        "SMTP_STARTTLS": "false"})
    yield setup
    setup.stop()
    await dispatch.reset_delivery_queue()
    await runtime.reset_dispatcher()
    await dispose_engine()
    monkeypatch.delenv("REDIS_URL")
    get_settings.cache_clear()
    from services.redis_client import close_redis

    await close_redis()
    client.flushdb()
    client.close()


async def make_user(role: Role) -> User:
    async with open_session() as session:
        user = await auth.register(UserCreate(email=f"n-{uuid.uuid4().hex[:8]}@example.com",
                                              password="amber-falcon-lantern-42"), session=session)
        user.role = role
        session.add(user)
        await session.commit()
        return user


async def send(actor: User, **fields: Any) -> Any:
    async with open_session() as session:
        return await notifications.send(actor, SendRequest(**fields), session=session)


async def status_of(delivery_id: uuid.UUID) -> DeliveryStatus:
    async with open_session() as session:
        found = await session.get(Delivery, delivery_id)
        assert found is not None
        return found.status


async def next_event(events: asyncio.Queue[dict[str, Any]], workers: WorkerProcesses) -> dict[str, Any]:
    try:
        return await asyncio.wait_for(events.get(), 30)
    except TimeoutError:
        pytest.fail(f"no inbox event arrived over Redis\n{workers.logs()}")


async def test_a_worker_process_sends_in_app_and_email_and_its_inbox_events_reach_this_process(
        workers: WorkerProcesses, smtp: FakeSMTPServer) -> None:
    editor, reader = await make_user(Role.EDITOR), await make_user(Role.VIEWER)
    assert isinstance(dispatch.get_delivery_queue(), dispatch.RedisDeliveryQueue)
    workers.start_worker()
    async with get_event_bus().subscribe(inbox_topic(reader.id)) as events:
        in_app = await send(editor, channel="in_app", recipient=str(reader.id), subject="Build finished",
                            message="All green", category="builds")
        email = await send(editor, channel="email", recipient="reader@example.com", subject="Weekly report",
                           message="Plain text", html="<p>HTML part</p>")
        event = await next_event(events, workers)
    assert (event["kind"], event["notification_id"], event["subject"], event["category"]) == (
        "new", str(in_app.notification_id), "Build finished", "builds")

    async def both_sent() -> bool:
        return {await status_of(in_app.delivery_id), await status_of(email.delivery_id)} == {DeliveryStatus.SENT}

    await workers.wait_for(both_sent, what="both deliveries to be sent")
    [mail] = smtp.received
    assert mail.rcpt_tos == ["reader@example.com"] and mail.message["Subject"] == "Weekly report"
    assert mail.message["From"] == SENDER
    parts = {part.get_content_type(): part.get_content() for part in mail.message.walk()
             if not part.is_multipart()}
    assert parts["text/plain"].strip() == "Plain text" and parts["text/html"].strip() == "<p>HTML part</p>"
    async with open_session() as session:
        delivered = await session.get(Notification, in_app.notification_id)
    assert delivered is not None and delivered.delivered_at is not None


async def test_a_worker_maintenance_loop_sends_the_digest_of_held_low_priority_notifications(
        workers: WorkerProcesses) -> None:
    editor, reader = await make_user(Role.EDITOR), await make_user(Role.VIEWER)
    async with open_session() as session:
        await preferences.put(reader, preferences.Preferences(rules=[preferences.PreferenceRule(
            category="*", channel="in_app", digest=True)]), session=session)
    held = [await send(editor, channel="in_app", recipient=str(reader.id), priority="low", subject=f"Tip {n}",
                       message=f"tip {n}") for n in range(3)]
    assert {r.note for r in held} == {preferences.HELD_FOR_DIGEST}
    async with get_event_bus().subscribe(inbox_topic(reader.id)) as events:
        workers.start_worker(NOTIFY_DIGEST_PERIOD_SECONDS="1")
        event = await next_event(events, workers)
    assert (event["kind"], event["subject"]) == ("new", "Your digest: 3 notifications")
    async with open_session() as session:
        items = (await session.exec(select(Delivery).where(
            col(Delivery.notification_id).in_([r.notification_id for r in held])))).all()
    assert {(d.status, d.response["digest"]) for d in items} == {(DeliveryStatus.SENT, event["notification_id"])}
