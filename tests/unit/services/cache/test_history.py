"""The hit-ratio series behind the Services page chart: intervals, bounds, counter resets, sampling."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.cache.history import HitRatioHistory
from services.cache.service import cache_hit_ratio_history, close_caches, get_cache, record_cache_samples
from services.settings import get_settings


def test_each_point_is_the_ratio_of_the_gets_made_in_its_interval() -> None:
    history = HitRatioHistory(interval=3600)
    history.offer(3, 1, force=True)
    history.offer(3, 5, force=True)  # four misses, no hit
    history.offer(13, 5, force=True)  # ten hits
    first, second, third = history.points()
    assert (first.gets, first.hit_ratio, first.cumulative_hit_ratio) == (4, 0.75, 0.75)
    assert (second.gets, second.hit_ratio, second.cumulative_hit_ratio) == (4, 0.0, 0.375)
    assert (third.gets, third.hit_ratio) == (10, 1.0)
    assert third.cumulative_hit_ratio == round(13 / 18, 4)


def test_an_interval_without_gets_has_no_ratio_and_samples_are_kept_at_most_once_per_interval() -> None:
    history = HitRatioHistory(interval=3600)
    assert history.offer(0, 0)
    assert not history.offer(5, 5)  # too soon after the first
    [point] = history.points()
    assert (point.gets, point.hit_ratio) == (0, None)


def test_the_series_is_bounded_and_a_counter_reset_starts_a_new_interval() -> None:
    history = HitRatioHistory(interval=0, limit=3)
    for hits in (1, 2, 3, 4, 5, 6):
        history.offer(hits, 0)
    points = history.points()
    assert len(points) == 3 and [point.gets for point in points] == [1, 1, 1]
    history.offer(2, 2)  # counters went backwards (a reset): counted from zero, never negative
    assert (history.points()[-1].gets, history.points()[-1].hit_ratio) == (4, 0.5)


@pytest.fixture
async def _memory_cache(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    monkeypatch.delenv("CACHE_BACKEND", raising=False)
    get_settings.cache_clear()
    await close_caches()
    yield
    await close_caches()


@pytest.mark.usefixtures("_memory_cache")
async def test_the_process_cache_history_follows_its_gets() -> None:
    record_cache_samples()  # no cache opened yet: nothing is sampled, nothing is built
    cache = get_cache()
    assert not cache.history.samples
    await cache.set("ai", "k", 1)
    await cache.get("ai", "k")
    await cache.get("ai", "missing")
    await cache.get("docs", "missing")
    [point] = cache_hit_ratio_history()
    assert (point.gets, point.hit_ratio) == (3, round(1 / 3, 4))


@pytest.mark.usefixtures("_memory_cache")
async def test_each_sample_with_gets_is_recorded_as_a_cache_stats_event() -> None:
    from models.analytics import EventType
    from services.analytics.recorder import get_recorder

    recorder = get_recorder()
    recorder.discard_pending()
    recorder.flush_interval, interval = 3600, recorder.flush_interval  # keep the events in the buffer to read
    cache = get_cache()
    cache.history.interval = 0  # sample at every beat
    record_cache_samples()  # the first sample has nothing before it
    await cache.set("ai", "k", 1)
    await cache.get("ai", "k")
    await cache.get("ai", "missing")
    record_cache_samples()
    record_cache_samples()  # no gets since the last sample: no event
    events = [e for e in recorder.buffered() if e["type"] == EventType.CACHE_STATS]
    recorder.discard_pending()
    recorder.flush_interval = interval
    assert [(e["value"], e["payload"]) for e in events] == [(0.5, {"backend": "memory", "hits": 1, "misses": 1})]
