"""The dashboards' breakdowns against hand-computed figures, on SQLite and PostgreSQL (UTC weekday and hour)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from models.analytics import EventType
from models.workflow import WorkflowStatus
from services.analytics import breakdowns
from services.analytics.windows import Window
from tests.unit.services.analytics.conftest import event, write

WINDOW = Window(datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 25, tzinfo=UTC))  # Monday → Wednesday
U1, U2 = uuid.UUID(int=1), uuid.UUID(int=2)
RUN = EventType.RUN_FINISHED


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


async def test_breakdowns_of_a_fixed_event_set(make_workflow: Callable[..., Awaitable[int]]) -> None:
    busy, quiet = await make_workflow("Busy"), await make_workflow("Quiet")
    archived = await make_workflow("Old", WorkflowStatus.ARCHIVED)
    await write([
        event(RUN, at(23, 0), workflow_id=busy, user_id=U1, status="succeeded", duration_ms=50.0),
        event(RUN, at(23, 0, 30), workflow_id=busy, user_id=U1, status="succeeded", duration_ms=100.0),  # 100: 2nd bin
        event(RUN, at(23, 13), workflow_id=busy, user_id=U2, status="failed", duration_ms=7_000.0),
        event(RUN, at(24, 23, 59), workflow_id=quiet, user_id=U2, status="succeeded", duration_ms=700_000.0),
        event(RUN, at(25, 0), workflow_id=quiet, status="failed", duration_ms=1.0),  # the window's exclusive end
        event(EventType.LOGIN, at(24, 13, 5), user_id=U1),
        event(EventType.PAGE_VIEW, at(24, 13, 6), user_id=U1),
        event(EventType.NOTIFICATION_SENT, at(23, 6), channel="email", status="sent", workflow_id=busy),
        event(EventType.NOTIFICATION_SENT, at(23, 7), channel="email", status="sent"),
        event(EventType.NOTIFICATION_FAILED, at(23, 8), channel="slack", status="dead"),
        event(EventType.NOTIFICATION_FAILED, at(23, 9), channel="email", status="queued"),
    ])
    bins = await breakdowns.duration_distribution(WINDOW)  # whole hours: from the rollup's histogram
    assert [(b.label, b.count) for b in bins] == [
        ("16 ms-64 ms", 1), ("64 ms-256 ms", 1), ("256 ms-1.02 s", 0), ("1.02 s-4.1 s", 0), ("4.1 s-16.4 s", 1),
        ("16.4 s-1.09 min", 0), ("1.09 min-4.37 min", 0), ("4.37 min-17.5 min", 1)]
    edges = Window(at(23, 0, 20), datetime(2026, 11, 24, 23, 59, 30, tzinfo=UTC))  # partial hours: raw events
    assert [b.count for b in await breakdowns.duration_distribution(edges)] == [1, 0, 0, 1, 0, 0, 1]
    assert [(b.label, b.count) for b in await breakdowns.duration_distribution(WINDOW, workflow_id=quiet)] == [
        ("4.37 min-17.5 min", 1)]
    assert breakdowns.range_label(0) == "< 1 ms" and breakdowns.range_label(1) == "1 ms-4 ms"

    rates = await breakdowns.success_by_workflow(WINDOW)
    assert [(r.name, r.runs, r.succeeded, r.failed) for r in rates] == [("Busy", 3, 2, 1), ("Quiet", 1, 1, 0)]
    assert rates[0].success_rate == 2 / 3
    assert [r.name for r in await breakdowns.success_by_workflow(WINDOW, workflow_id=quiet)] == ["Quiet"]

    deliveries = await breakdowns.deliveries_by_channel(WINDOW)
    assert [(d.channel, d.status, d.count) for d in deliveries] == [("email", "queued", 1), ("email", "sent", 2),
                                                                   ("slack", "dead", 1)]
    assert [(d.channel, d.status, d.count) for d in await breakdowns.deliveries_by_channel(
        WINDOW, workflow_id=busy)] == [("email", "sent", 1)]  # the notification one of its runs sent
    grid = await breakdowns.activity_heatmap(WINDOW)
    assert len(grid) == 7 and all(len(row) == 24 for row in grid)
    assert grid[0][0] == 1 and grid[0][13] == 1  # Monday 00:00 (U1) and 13:00 (U2)
    assert grid[1][13] == 1  # Tuesday 13:00: U1 signed in and viewed a page, counted once
    assert grid[1][23] == 1 and sum(map(sum, grid)) == 4
    assert sum(map(sum, await breakdowns.activity_heatmap(edges))) == 4  # U1's 00:30 run keeps Monday 00:00
    later = Window(at(23, 0, 40), datetime(2026, 11, 24, 23, 59, 30, tzinfo=UTC))
    assert (await breakdowns.activity_heatmap(later))[0][0] == 0  # both Monday 00:00 runs are before 00:40
    only_quiet = await breakdowns.activity_heatmap(WINDOW, workflow_id=quiet)
    assert only_quiet[1][23] == 1 and sum(map(sum, only_quiet)) == 1
    assert await breakdowns.activity_heatmap(Window(at(20, 0), at(21, 0))) == []
    assert await breakdowns.duration_distribution(Window(at(20, 0), at(21, 0))) == []

    choices = await breakdowns.workflow_choices()
    assert [(c.id, c.name) for c in choices] == [(busy, "Busy"), (quiet, "Quiet")]
    assert archived not in [c.id for c in choices]
