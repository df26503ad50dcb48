"""The recorder batches, never raises or waits on the caller's path, survives write failures, and writes for real."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from models.analytics import EventType
from services.analytics.recorder import EVENTS, EventRecorder, insert_events
from services.db import get_engine

Row = dict[str, Any]


class FlakyWriter:
    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.batches: list[list[Row]] = []

    async def __call__(self, rows: list[Row]) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database unavailable")
        self.batches.append(rows)


async def test_a_full_batch_is_written_at_once_and_the_rest_on_the_timer() -> None:
    writer = FlakyWriter()
    recorder = EventRecorder(writer, flush_interval=0.2, max_batch=100)
    for _ in range(250):
        recorder.record(EventType.LOGIN)
    await asyncio.sleep(0.05)  # the full batch woke the flusher before the interval
    assert sum(len(b) for b in writer.batches) == 250 and len(writer.batches) == 1
    recorder.record(EventType.LOGIN)
    await asyncio.sleep(0.05)
    assert recorder.pending == 1  # below a batch: waits for the timer
    await asyncio.sleep(0.3)
    assert (recorder.pending, recorder.written) == (0, 251)


async def test_under_steady_traffic_events_wait_for_the_next_interval_instead_of_a_write_each() -> None:
    recorder: EventRecorder

    async def slow_write(rows: list[Row]) -> None:  # requests keep arriving while a batch is written
        batches.append(rows)
        await asyncio.sleep(0.01)
        recorder.record(EventType.API_CALL)

    batches: list[list[Row]] = []
    recorder = EventRecorder(slow_write, flush_interval=0.3)
    for _ in range(3):
        recorder.record(EventType.API_CALL)
    assert await recorder.flush()
    assert [len(batch) for batch in batches] == [3] and recorder.pending == 1  # written at the next flush


async def test_record_returns_without_awaiting_anything() -> None:
    gate = asyncio.Event()

    async def blocked(rows: list[Row]) -> None:
        await gate.wait()

    recorder = EventRecorder(blocked, flush_interval=0.01, max_batch=1)
    recorder.record(EventType.LOGIN)  # a plain call: the slow database is the flusher's problem
    recorder.record(EventType.LOGIN)
    assert recorder.written == 0
    gate.set()
    await recorder.flush()


async def test_a_failed_write_is_logged_kept_and_retried(caplog: pytest.LogCaptureFixture) -> None:
    writer = FlakyWriter(failures=2)
    recorder = EventRecorder(writer, flush_interval=10, max_attempts=3)
    recorder.record(EventType.LOGIN, value=1.0)
    with caplog.at_level(logging.WARNING, logger="services.analytics.recorder"):
        assert await recorder.flush() is False
        assert await recorder.flush() is False
    assert "retrying" in caplog.text and recorder.pending == 1
    assert await recorder.flush() is True
    assert writer.batches[0][0]["value"] == 1.0 and recorder.dropped == 0


async def test_after_max_attempts_the_batch_is_dropped_and_counted() -> None:
    recorder = EventRecorder(FlakyWriter(failures=99), flush_interval=10, max_attempts=2)
    for _ in range(3):
        recorder.record(EventType.LOGIN)
    await recorder.flush()
    await recorder.flush()
    assert (recorder.pending, recorder.dropped, recorder.written) == (0, 3, 0)


async def test_a_full_buffer_drops_new_events_instead_of_growing() -> None:
    recorder = EventRecorder(FlakyWriter(), flush_interval=10, max_batch=1000, max_buffer=5)
    for _ in range(8):
        recorder.record(EventType.LOGIN)
    assert (recorder.pending, recorder.dropped) == (5, 3)
    await recorder.flush()


def test_recording_outside_an_event_loop_is_kept_for_the_next_flush() -> None:
    recorder = EventRecorder(FlakyWriter(), flush_interval=10)
    recorder.record(EventType.LOGIN)
    assert recorder.pending == 1


async def test_insert_events_bulk_writes_rows_with_any_subset_of_columns(analytics_db: str) -> None:
    at = datetime(2026, 11, 27, 9, tzinfo=UTC)
    await insert_events([{"type": "login", "time": at},
                         {"type": "ai_call", "time": at, "provider": "openai", "tokens": 5, "payload": {"a": 1}}])
    async with get_engine().connect() as conn:
        rows = (await conn.execute(select(EVENTS.c.type, EVENTS.c.time, EVENTS.c.tokens, EVENTS.c.payload)
                                   .order_by(EVENTS.c.id))).all()
    assert [tuple(r) for r in rows] == [("login", at, None, None), ("ai_call", at, 5, {"a": 1})]


async def test_every_column_round_trips_whatever_its_text_holds(analytics_db: str) -> None:
    # On PostgreSQL the batch goes in as COPY: tabs, newlines, backslashes and \N must not be read
    # as its delimiters, escapes or NULL.
    import uuid

    at = datetime(2026, 11, 27, 9, 30, 15, 123456, tzinfo=UTC)
    tricky = "tab\there\nnew line \\ back\\slash \\N é 🙂"
    row = {"type": "api_call", "time": at, "user_id": uuid.uuid4(), "workflow_id": 7, "run_id": uuid.uuid4(),
           "node_id": tricky[:100], "status": "ok\tok", "provider": "p\\N", "model": "\\N", "channel": "",
           "duration_ms": 1.25, "tokens": 3, "cost_usd": 0.0001, "value": -2.5,
           "payload": {"route": tricky, "nested": [1, None, {"k": "\\N"}]}}
    await insert_events([row, {"type": "login", "time": at}])
    async with get_engine().connect() as conn:
        stored = (await conn.execute(select(EVENTS).order_by(EVENTS.c.id))).mappings().all()
    assert {name: stored[0][name] for name in row} == row
    assert stored[1]["type"] == "login" and stored[1]["payload"] is None and stored[1]["node_id"] is None


async def test_a_naive_timestamp_is_refused_not_guessed(analytics_db: str) -> None:
    with pytest.raises(Exception, match="naive"):
        await insert_events([{"type": "login", "time": datetime(2026, 11, 27, 9)}])


async def test_a_real_recorder_against_a_missing_table_logs_instead_of_raising(
        analytics_db: str, caplog: pytest.LogCaptureFixture) -> None:
    async with get_engine().begin() as conn:
        await conn.execute(EVENTS.delete())
        count_before = (await conn.execute(select(func.count()).select_from(EVENTS))).scalar_one()

    async def broken(rows: list[Row]) -> None:
        await insert_events([{**row, "type": None} for row in rows])  # NOT NULL violated

    recorder = EventRecorder(broken, flush_interval=10, max_attempts=1)
    recorder.record(EventType.LOGIN)
    with caplog.at_level(logging.ERROR, logger="services.analytics.recorder"):
        assert await recorder.flush() is False
    assert "dropping 1 analytics events" in caplog.text and count_before == 0
