"""API reads under a burst: ``DATABASE_POOL_SIZE`` at a time per process, the others in turn rather than in the
connection pool; one that waited past ``READ_QUEUE_SECONDS`` gets a 503 that says when to retry."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from models.user import Role
from services.db import dispose_engine
from tests.api.conftest import account
from tests.settings_env import configure

BURST = 24


async def test_a_burst_of_reads_larger_than_the_pool_is_served_in_turn_without_a_single_503(
        live: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    # A pool of one connection that times out at once: only the turn-taking keeps the burst out of it.
    configure(monkeypatch, DATABASE_POOL_SIZE="1", DATABASE_MAX_OVERFLOW="0", DATABASE_POOL_TIMEOUT_SECONDS="0.001")
    await dispose_engine()
    viewer = await account(live, "reader@example.com", Role.VIEWER)
    answers = await asyncio.gather(*(live.get("/api/v3/workflows", headers=viewer) for _ in range(BURST)))
    assert [answer.status_code for answer in answers] == [200] * BURST, answers[0].text


async def test_a_read_that_waited_its_turn_too_long_gets_a_503_with_retry_after(
        live: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, DATABASE_POOL_SIZE="1", READ_QUEUE_SECONDS="0.001")
    await dispose_engine()
    viewer = await account(live, "reader@example.com", Role.VIEWER)
    answers = await asyncio.gather(*(live.get("/api/v3/workflows", headers=viewer) for _ in range(BURST)))
    refused = [answer for answer in answers if answer.status_code == 503]
    assert refused, "the burst should have queued behind the one read let in"
    assert {answer.status_code for answer in answers} == {200, 503}
    assert refused[0].headers["Retry-After"] == "1"
    assert "too busy to take reads" in refused[0].json()["error"]["message"]
