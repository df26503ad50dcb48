"""What the Services page shows from the services' answers: status colours and labels, latencies,
cache figures, the Optimize sentence, and the hit-ratio chart in percent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.cache.history import HitRatioPoint
from services.cache.stats import CacheStats, NamespaceSize, NamespaceStats, OptimizeReport
from services.status import ServiceStatus
from state.services import cache_figures, hit_ratio_figure, namespace_rows, optimize_notice, service_row

AT = datetime(2026, 12, 6, 5, 0, tzinfo=UTC)


def _stats(**changes: object) -> CacheStats:
    fields: dict[str, object] = {
        "backend": "tiered", "version": "redis 7.2.4", "status": "ok", "last_error": "", "hits": 3, "misses": 1,
        "hit_ratio": 0.75, "sets": 2, "evictions": None, "errors": 0, "get_p50_us": 41.2, "get_p95_us": 1234.5,
        "entries": 1500, "bytes": 3 * 1024 * 1024,
        "namespaces": [NamespaceStats(namespace="ai", hits=3, misses=1, hit_ratio=0.75, sets=2, errors=0,
                                      get_p50_us=41.2, get_p95_us=None, entries=1500, bytes=900)]}
    return CacheStats.model_validate(fields | changes)


def test_a_service_row_carries_its_status_colour_label_and_latency() -> None:
    row = service_row(ServiceStatus(name="cache", kind="cache", status="degraded", latency_ms=1234.56,
                                    version="redis 7.2.4", last_error="get: Redis unreachable"))
    assert (row.label, row.color, row.latency, row.version) == ("Degraded", "amber", "1,234.6 ms", "redis 7.2.4")
    assert row.last_error == "get: Redis unreachable"
    unknown = service_row(ServiceStatus(name="ai:openai", kind="ai_provider", status="not_configured"))
    assert (unknown.kind, unknown.label, unknown.color, unknown.latency, unknown.version) == (
        "ai provider", "Not configured", "gray", "—", "—")
    assert service_row(ServiceStatus(name="database", kind="database", status="down")).color == "red"


def test_cache_figures_give_the_hit_ratio_in_percent_and_sizes_in_units() -> None:
    figures = dict(cache_figures(_stats()))
    assert figures["Hit ratio"] == "75.0 %" and figures["Entries"] == "1,500" and figures["Size"] == "3.0 MB"
    assert (figures["Get p50"], figures["Get p95"], figures["Evictions"]) == ("41 µs", "1,234 µs", "—")
    before_any_get = dict(cache_figures(_stats(hits=0, misses=0, hit_ratio=None, get_p50_us=None)))
    assert (before_any_get["Hit ratio"], before_any_get["Get p50"]) == ("—", "—")
    [row] = namespace_rows(_stats())
    assert (row.namespace, row.hit_ratio, row.entry_count, row.size, row.p95) == ("ai", "75.0 %", 1500, "900 B", "—")


def test_the_optimize_notice_names_what_was_purged_and_the_largest_namespaces() -> None:
    report = OptimizeReport(backend="memory", purged_expired=1, took_ms=2.4, largest_namespaces=[
        NamespaceSize(namespace=name, entries=1, bytes=size)
        for name, size in (("docs", 4096), ("ai", 10), ("runs", 5), ("tiny", 1))])
    assert optimize_notice(report) == ("Optimized in 2 ms: 1 expired entry purged. "
                                       "Largest namespaces: docs (4.0 KB), ai (10 B), runs (5 B).")
    empty = OptimizeReport(backend="memory", purged_expired=0, took_ms=0.1, largest_namespaces=[])
    assert optimize_notice(empty).endswith("0 expired entries purged. Largest namespaces: none.")


def test_the_hit_ratio_chart_plots_percent_per_interval_with_gets_as_bars() -> None:
    points = [HitRatioPoint(at=AT, gets=4, hit_ratio=0.75, cumulative_hit_ratio=0.75),
              HitRatioPoint(at=AT + timedelta(seconds=10), gets=0, hit_ratio=None, cumulative_hit_ratio=0.75),
              HitRatioPoint(at=AT + timedelta(seconds=20), gets=4, hit_ratio=0.25, cumulative_hit_ratio=0.5)]
    figure = hit_ratio_figure(points)
    bars, interval, cumulative = figure.data
    assert (bars.type, list(bars.y), bars.yaxis) == ("bar", [4, 0, 4], "y2")
    assert (interval.name, list(interval.y)) == ("hit ratio %", [75.0, None, 25.0])
    assert list(cumulative.y) == [75.0, 75.0, 50.0]
    assert list(figure.layout.yaxis.range) == [0, 105]
