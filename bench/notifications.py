"""How fast the notification service sends a bulk notification, beside its baselines in the same run.

* in-app: one bulk call to 10,000 users through the real service (render, idempotency keys,
  preferences, recorded in chunks) and the real delivery path (in-process queue, claim, send,
  record, inbox event), beside a raw bulk INSERT of the same 10,000 notification and delivery rows;
* email: one bulk call to 1,000 addresses, sent by the email channel to the loopback aiosmtpd server
  of ``tests/fakes/smtp_server.py``, beside raw aiosmtplib sends of the same 1,000 messages (the
  same concurrency, one connection per message as the channel does, and all over one connection).

Throughput is notifications over the wall time from the bulk call to the last delivery ``sent``;
enqueue-to-sent is each delivery's ``sent_at - queued_at`` (in a bulk, mostly the backlog ahead of it;
100 single sends on an idle queue give the latency without one). SQLite is a temporary migrated file;
PostgreSQL (a temporary database on 127.0.0.1:5432, or ``DATABASE_URL``) runs too when it answers.

    .venv/bin/python bench/notifications.py              # or: make bench
    .venv/bin/python bench/notifications.py --quick      # 2,000 in-app and 200 emails

The output ends with the three required lines, ``notifications_per_s_in_app``,
``notifications_per_s_email`` and ``notification_p95_enqueue_to_sent_ms`` (SQLite's, the headline);
every other figure, PostgreSQL's with a ``_postgres`` suffix, is printed before them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DWC_DATA_DIR", tempfile.mkdtemp(prefix="dwc-bench-"))
GIVEN_POSTGRES_URL = os.environ.get("DATABASE_URL", "") if os.environ.get("DATABASE_URL", "").startswith(
    ("postgres://", "postgresql")) else ""
for _name in ("DATABASE_URL", "REDIS_URL", "NOTIFY_RATE_LIMITS"):
    os.environ.pop(_name, None)
SENDER = "Bench <bench@example.com>"

import aiosmtplib  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from models.base import utcnow  # noqa: E402
from models.notification import Delivery, DeliveryStatus, Notification  # noqa: E402
from models.user import Role, User  # noqa: E402
from services.auth.passwords import hash_password  # noqa: E402
from services.db import dispose_engine, get_engine, open_session  # noqa: E402
from services.notifications import service as notifications  # noqa: E402
from services.notifications.channels.base import OutgoingMessage  # noqa: E402
from services.notifications.channels.email import build_email  # noqa: E402
from services.notifications.dispatch import InProcessDeliveryQueue, reset_delivery_queue  # noqa: E402
from services.notifications.schemas import BulkRequest, SendRequest  # noqa: E402
from services.settings import get_settings  # noqa: E402
from services.workflows import runtime  # noqa: E402
from tests.fakes.smtp_server import FakeSMTPServer  # noqa: E402
from tests.infra import migrate, reachable, temporary_postgres_database  # noqa: E402

NOTIFICATIONS = Notification.__table__  # type: ignore[attr-defined]
DELIVERIES = Delivery.__table__  # type: ignore[attr-defined]
USERS = User.__table__  # type: ignore[attr-defined]


@dataclass
class Figure:
    label: str
    count: int
    seconds: float
    p50_ms: float = 0.0
    p95_ms: float = 0.0

    @property
    def per_s(self) -> float:
        return self.count / self.seconds

    def show(self) -> None:
        latency = f"  enqueue→sent p50 {self.p50_ms:7.1f} ms  p95 {self.p95_ms:7.1f} ms" if self.p95_ms else ""
        print(f"  {self.label:<44} {self.count:>6}  {self.seconds:7.2f} s  {self.per_s:8.0f}/s{latency}")


async def use_database(url: str, smtp: FakeSMTPServer) -> None:
    os.environ |= {"DATABASE_URL": url, "SMTP_HOST": smtp.host, "SMTP_PORT": str(smtp.port), "SMTP_FROM": SENDER,
                   "SMTP_STARTTLS": "false"}
    get_settings.cache_clear()
    await runtime.reset_dispatcher()
    await reset_delivery_queue()
    await dispose_engine()


async def make_users(count: int) -> tuple[User, list[str]]:
    """An admin who sends, and ``count`` recipients inserted in one statement (one shared password hash)."""
    password_hash = await hash_password("amber-falcon-lantern-42")
    now = utcnow()
    rows = [{"id": uuid.uuid4(), "email": f"bench-{uuid.uuid4().hex[:12]}@example.com", "full_name": "",
             "password_hash": password_hash, "role": Role.VIEWER, "is_active": True, "created_at": now,
             "updated_at": now, "last_login_at": None} for _ in range(count + 1)]
    rows[0]["role"] = Role.ADMIN
    async with get_engine().begin() as conn:
        await conn.execute(USERS.insert(), rows)
    async with open_session() as session:
        admin = await session.get(User, rows[0]["id"])
    assert admin is not None
    return admin, [str(row["id"]) for row in rows[1:]]


async def through_service(label: str, admin: User, channel: str, recipients: list[str]) -> Figure:
    """One bulk call, then wait until every delivery is sent; per-delivery enqueue→sent latencies."""
    queue = InProcessDeliveryQueue()
    marker = uuid.uuid4().hex[:8]
    request = BulkRequest(channel=channel, recipients=recipients, subject=f"Bench {marker}",
                          message="Hello {{ 'there' }}, this is a benchmark notification.",
                          html="<p>Hello there, this is a <b>benchmark</b> notification.</p>")
    started = time.perf_counter()
    async with open_session() as session:
        summary = await notifications.bulk(admin, request, session=session, queue=queue)
    await queue.drain()
    elapsed = time.perf_counter() - started
    assert summary.queued == len(recipients), summary
    query = (select(DELIVERIES.c.status, DELIVERIES.c.queued_at, DELIVERIES.c.sent_at)
             .join(NOTIFICATIONS, NOTIFICATIONS.c.id == DELIVERIES.c.notification_id)
             .where(NOTIFICATIONS.c.subject == request.subject))
    async with get_engine().connect() as conn:
        rows = (await conn.execute(query)).all()
    statuses = {status for status, _q, _s in rows}
    if statuses != {DeliveryStatus.SENT.value}:
        sys.exit(f"{label}: deliveries ended {statuses}, not all sent")
    latencies = sorted((sent - queued).total_seconds() * 1000 for _status, queued, sent in rows)
    return Figure(label, len(rows), elapsed, statistics.median(latencies),
                  latencies[max(0, int(len(latencies) * 0.95) - 1)])


async def single_sends(admin: User, user_ids: list[str], count: int) -> Figure:
    """One in-app send at a time on an idle queue: enqueue→sent without a bulk backlog ahead of it."""
    queue = InProcessDeliveryQueue()
    latencies, started = [], time.perf_counter()
    for index in range(count):
        async with open_session() as session:
            result = await notifications.send(admin, SendRequest(channel="in_app", recipient=user_ids[index],
                                                                 message=f"single {uuid.uuid4()}"),
                                              session=session, queue=queue)
        await queue.drain()
        async with get_engine().connect() as conn:
            queued, sent = (await conn.execute(select(DELIVERIES.c.queued_at, DELIVERIES.c.sent_at).where(
                DELIVERIES.c.id == result.delivery_id))).one()
        latencies.append((sent - queued).total_seconds() * 1000)
    latencies.sort()
    return Figure("single in-app sends, one at a time", count, time.perf_counter() - started,
                  statistics.median(latencies), latencies[max(0, int(count * 0.95) - 1)])


async def raw_insert(count: int, user_ids: list[str]) -> Figure:
    """Baseline: the same notification and delivery rows in one transaction, two executemany INSERTs."""
    now = utcnow()
    notes, deliveries = [], []
    for index in range(count):
        note_id = uuid.uuid4()
        notes.append({"id": note_id, "channel": "in_app", "recipient": user_ids[index],
                      "user_id": uuid.UUID(user_ids[index]), "category": "general", "priority": "normal",
                      "subject": "raw", "body": "raw", "html": None, "template_name": None,
                      "template_version": None, "variables": {}, "idempotency_key": f"raw:{note_id}",
                      "run_id": None, "node_id": None, "created_by": None, "created_at": now, "delivered_at": now,
                      "read_at": None, "archived_at": None})
        deliveries.append({"id": uuid.uuid4(), "notification_id": note_id, "channel": "in_app",
                           "status": DeliveryStatus.SENT, "priority_rank": 2, "attempts": 1, "response": {},
                           "queued_at": now, "sent_at": now, "finished_at": now})
    started = time.perf_counter()
    async with get_engine().begin() as conn:
        await conn.execute(NOTIFICATIONS.insert(), notes)
        await conn.execute(DELIVERIES.insert(), deliveries)
    return Figure("raw bulk INSERT (baseline)", count, time.perf_counter() - started)


def messages(count: int) -> list[tuple[str, Any]]:
    out = []
    for index in range(count):
        recipient = f"raw-{index}@example.com"
        message = OutgoingMessage(recipient=recipient, subject="Raw", text="Hello there, raw.",
                                  html="<p>Hello there, raw.</p>", idempotency_key=f"raw-{uuid.uuid4()}")
        out.append((recipient, build_email(message, sender=SENDER, recipient=recipient)))
    return out


async def raw_smtp_per_message(smtp: FakeSMTPServer, count: int, concurrency: int) -> Figure:
    """Baseline: aiosmtplib.send of the same messages, a connection each, ``concurrency`` at a time."""
    gate = asyncio.Semaphore(concurrency)

    async def one(recipient: str, email: Any) -> None:
        async with gate:
            await aiosmtplib.send(email, sender="bench@example.com", recipients=[recipient], hostname=smtp.host,
                                  port=smtp.port, start_tls=False)

    prepared = messages(count)
    started = time.perf_counter()
    await asyncio.gather(*(one(r, m) for r, m in prepared))
    return Figure(f"raw aiosmtplib, connection per message, x{concurrency}", count, time.perf_counter() - started)


async def raw_smtp_one_connection(smtp: FakeSMTPServer, count: int) -> Figure:
    """Baseline: the same messages one after another over one SMTP connection."""
    prepared = messages(count)
    started = time.perf_counter()
    async with aiosmtplib.SMTP(hostname=smtp.host, port=smtp.port, start_tls=False) as client:
        for recipient, email in prepared:
            await client.send_message(email, sender="bench@example.com", recipients=[recipient])
    return Figure("raw aiosmtplib, one connection (baseline)", count, time.perf_counter() - started)


async def suite(database: str, smtp: FakeSMTPServer, in_app: int, emails: int) -> dict[str, Figure]:
    concurrency = get_settings().worker_concurrency
    print(f"\n{database}: {in_app} in-app and {emails} email notifications (WORKER_CONCURRENCY={concurrency})")
    admin, user_ids = await make_users(in_app)
    figures = {"in_app": await through_service("in-app bulk → all sent (service)", admin, "in_app", user_ids),
               "raw_insert": await raw_insert(in_app, user_ids),
               "single": await single_sends(admin, user_ids, min(100, in_app))}
    smtp.reset()
    addresses = [f"reader-{index}@example.com" for index in range(emails)]
    figures["email"] = await through_service("email bulk → all sent (service)", admin, "email", addresses)
    if len(smtp.received) != emails:
        sys.exit(f"the SMTP server received {len(smtp.received)} messages, not {emails}")
    figures["raw_smtp"] = await raw_smtp_per_message(smtp, emails, concurrency)
    figures["raw_smtp_one"] = await raw_smtp_one_connection(smtp, emails)
    for figure in figures.values():
        figure.show()
    async with get_engine().connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(DELIVERIES))).scalar_one() >= in_app + emails
    return figures


async def main(in_app: int, emails: int, databases: str) -> None:
    results: dict[str, dict[str, Figure]] = {}
    with FakeSMTPServer() as smtp, tempfile.TemporaryDirectory(prefix="dwc-bench-") as folder:
        if databases in ("both", "sqlite"):
            sqlite_url = f"sqlite:///{folder}/bench.db"
            migrate(sqlite_url)
            await use_database(sqlite_url, smtp)
            results["sqlite"] = await suite("SQLite", smtp, in_app, emails)
        if databases == "sqlite":
            pass
        elif not GIVEN_POSTGRES_URL and not reachable("127.0.0.1", 5432):
            print("PostgreSQL is not answering on 127.0.0.1:5432: skipping its figures")
        else:
            with contextlib.nullcontext(GIVEN_POSTGRES_URL) if GIVEN_POSTGRES_URL else (
                    temporary_postgres_database()) as postgres_url:
                migrate(postgres_url)
                await use_database(postgres_url, smtp)
                results["postgres"] = await suite("PostgreSQL", smtp, in_app, emails)
        await reset_delivery_queue()
        await dispose_engine()
    print()
    for line in result_lines(results):
        print(line)


def result_lines(results: dict[str, dict[str, Figure]]) -> list[str]:
    """The ``name=value`` lines: every extra figure first, then the three required ones (the first database's) last."""
    headline = next(iter(results), None)
    extra: list[str] = []
    for database, figures in results.items():
        suffix = "" if database == headline else f"_{database}"
        if database != headline:
            extra += required_lines(figures, suffix)
        extra += [f"notification_p95_single_send_ms{suffix}={figures['single'].p95_ms:.1f}",
                  f"baseline_raw_insert_rows_per_s{suffix}={figures['raw_insert'].per_s:.0f}",
                  f"baseline_raw_smtp_per_s{suffix}={figures['raw_smtp'].per_s:.0f}"]
    return extra + (required_lines(results[headline], "") if headline is not None else [])


def required_lines(figures: dict[str, Figure], suffix: str) -> list[str]:
    return [f"notifications_per_s_in_app{suffix}={figures['in_app'].per_s:.0f}",
            f"notifications_per_s_email{suffix}={figures['email'].per_s:.0f}",
            f"notification_p95_enqueue_to_sent_ms{suffix}={max(figures['in_app'].p95_ms, figures['email'].p95_ms):.0f}"]

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 in-app and 200 emails instead of 10,000 and 1,000")
    parser.add_argument("--in-app", type=int, default=None, help="in-app recipients (default 10,000)")
    parser.add_argument("--email", type=int, default=None, help="email recipients (default 1,000)")
    parser.add_argument("--databases", choices=("both", "sqlite", "postgres"), default="both",
                        help="the headline figures are SQLite's when it runs")
    args = parser.parse_args()
    asyncio.run(main(args.in_app or (2000 if args.quick else 10_000), args.email or (200 if args.quick else 1000),
                     args.databases))
