"""Analytics reports: the document's figures from a fixed event set, subscriptions, and the scheduled send
(email to the loopback SMTP server and in-app), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from models.analytics import AnalyticsReportSubscription, EventType, ReportFrequency
from models.base import utcnow
from models.user import Role, User, UserCreate
from services import errors
from services.analytics import reports
from services.auth import service as auth
from services.db import open_session
from services.notifications import inbox
from services.workflows import runtime
from tests.fakes.smtp_server import FakeSMTPServer
from tests.settings_env import SetEnv, settings_env
from tests.unit.services.analytics.conftest import event, write

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday: the day window starts Tuesday 12:00
RUN = EventType.RUN_FINISHED


async def make_user(role: Role = Role.VIEWER) -> User:
    async with open_session() as session:
        user = await auth.register(UserCreate(email=f"r-{uuid.uuid4().hex[:8]}@example.com",
                                              password="amber-falcon-lantern-42", full_name="Report Reader"),
                                   session=session)
        user.role = role
        session.add(user)
        await session.commit()
        return user


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.fixture
async def seeded(analytics_db: str, make_workflow: Callable[..., Awaitable[int]]) -> int:
    """Four runs of one workflow in the day before NOW (3 succeeded), one the day before; one AI call, one email."""
    alpha = await make_workflow("Alpha <QA>")
    await write([
        event(RUN, at(25, 9, 10), workflow_id=alpha, status="succeeded", duration_ms=100.0),
        event(RUN, at(25, 9, 20), workflow_id=alpha, status="succeeded", duration_ms=200.0),
        event(RUN, at(25, 10, 30), workflow_id=alpha, status="succeeded", duration_ms=300.0),
        event(RUN, at(25, 11, 0), workflow_id=alpha, status="failed", duration_ms=400.0),
        event(RUN, at(24, 8, 0), workflow_id=alpha, status="succeeded", duration_ms=100.0),  # previous day
        event(EventType.AI_CALL, at(25, 10, 5), provider="openai", model="gpt", status="succeeded", tokens=100,
              cost_usd=0.5, duration_ms=20.0),
        event(EventType.NOTIFICATION_SENT, at(25, 10, 6), channel="email", status="sent"),
    ])
    return alpha


async def test_the_report_holds_the_summary_and_the_charts_as_tables(seeded: int) -> None:
    report = await reports.build_report(await make_user(), "day", now=NOW)
    md = report.markdown
    assert md.startswith("# Daily analytics report")
    assert "Period: 2026-11-24 12:00 to 2026-11-25 12:00 UTC" in md
    assert "| Runs | 4 | 1 | +300% |" in md
    assert "| Success rate | 75.0% | 100.0% | -25% |" in md
    assert "| Failed | 1 | 0 | — |" in md
    assert "| AI cost | $0.5000 | $0.0000 | — |" in md
    # runs per hour by status: the busiest status first, only hours with runs
    assert "| Time (UTC) | succeeded | failed |" in md
    assert "| 2026-11-25 09:00 | 2 | 0 |" in md and "| 2026-11-25 11:00 | 0 | 1 |" in md
    assert "2026-11-24 08:00" not in md  # the previous day's run is not in this period's chart
    assert "| Alpha <QA> | 4 | 3 | 1 | 75.0% |" in md
    assert "| 2026-11-25 10:00 | $0.5000 |" in md
    assert "| email | sent | 1 |" in md
    assert "## Top insights" in md
    assert "<td style='padding:4px 8px'>Alpha &lt;QA&gt;</td>" in report.html
    assert "<QA>" not in report.html
    assert report.filename == "analytics-report-day-20261125-1200"


async def test_an_empty_period_says_so_instead_of_showing_numbers(analytics_db: str) -> None:
    report = await reports.build_report(await make_user(), "week", now=NOW)
    assert "| Runs | 0 | 0 | — |" in report.markdown
    assert "_No runs finished in this period._" in report.markdown
    assert "_No AI calls in this period._" in report.markdown
    assert "_No notifications were delivered in this period._" in report.markdown
    assert "| Time (UTC) |" not in report.markdown


async def test_a_subscription_is_due_at_seven_utc_daily_or_on_mondays(analytics_db: str) -> None:
    user = await make_user()
    async with open_session() as session:
        assert (await reports.get_subscription(user, session=session)).frequency is None
        daily = await reports.set_subscription(user, "daily", session=session, now=NOW)
        assert (daily.frequency, daily.next_send_at) == (ReportFrequency.DAILY, at(26, 7))
        weekly = await reports.set_subscription(user, "weekly", session=session, now=NOW)
        assert weekly.next_send_at == at(30, 7)  # the next Monday
        assert (await reports.get_subscription(user, session=session)).frequency is ReportFrequency.WEEKLY
        with pytest.raises(errors.ValidationFailed) as refused:
            await reports.set_subscription(user, "hourly", session=session, now=NOW)
        assert refused.value.details == [{"field": "frequency", "message": "daily, weekly or off"}]
        assert (await reports.get_subscription(user, session=session)).frequency is ReportFrequency.WEEKLY
        await reports.set_subscription(user, "off", session=session)
        assert await session.get(AnalyticsReportSubscription, user.id) is None


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeSMTPServer, SetEnv]]:
    names = ("SMTP_HOST", "SMTP_PORT", "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_FROM", "SMTP_STARTTLS")
    with FakeSMTPServer() as server:
        for set_env in settings_env(monkeypatch, names):
            set_env(SMTP_HOST=server.host, SMTP_PORT=str(server.port), SMTP_FROM="reports@example.com",
                    SMTP_STARTTLS="false")
            yield server, set_env


async def _wait_for(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_the_maintenance_loop_sends_a_due_report_once_by_email_and_in_app(
        analytics_db: str, smtp: tuple[FakeSMTPServer, SetEnv], make_workflow: Callable[..., Awaitable[int]]) -> None:
    server, _ = smtp
    user = await make_user()
    workflow = await make_workflow("Nightly digest")
    await write([event(RUN, utcnow() - timedelta(hours=1), workflow_id=workflow, status="succeeded",
                       duration_ms=250.0)])
    async with open_session() as session:  # subscribed two days ago: yesterday's 07:00 report is due
        await reports.set_subscription(user, "daily", session=session, now=utcnow() - timedelta(days=2))
    dispatcher = runtime.get_dispatcher()
    assert isinstance(dispatcher, runtime.InProcessDispatcher)
    await dispatcher.start()  # the engine's maintenance beat: schedules, deliveries, reports
    await _wait_for(lambda: len(server.received) >= 1)
    mail = server.received[0]
    assert mail.rcpt_tos == [user.email]
    assert mail.message["Subject"] == "Daily analytics report"
    text = mail.message.get_body(preferencelist=("plain",))
    html = mail.message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert "| Runs | 1 | 0 | — |" in text.get_content()
    assert "| Nightly digest | 1 | 1 | 0 | 100.0% |" in text.get_content()
    assert "<td style='padding:4px 8px'>Nightly digest</td>" in html.get_content()
    for _ in range(200):  # the in-app copy is delivered by the same queue, maybe just after the email
        async with open_session() as session:
            page = await inbox.get_all(user, inbox.InboxFilter(), session=session)
            row = await session.get(AnalyticsReportSubscription, user.id)
        if page.count:
            break
        await asyncio.sleep(0.1)
    assert [(n.subject, n.category) for n in page.data] == [("Daily analytics report", "report")]
    assert "## Summary" in page.data[0].body
    assert row is not None and row.next_send_at > utcnow() and row.last_sent_at is not None
    assert await reports.send_due_reports() == []  # claimed: nothing is due any more
    await asyncio.sleep(1.5)  # another maintenance beat passes
    assert len(server.received) == 1
