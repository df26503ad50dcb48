"""Prometheus metrics: HTTP requests counted by the API middleware, and the system snapshot as series.

HTTP series are per process. With several worker processes behind one port, set
``PROMETHEUS_MULTIPROC_DIR`` (an empty folder, the same for every process of one replica, wiped at
start) and the scrape sums them; otherwise scrape each process. Snapshot series come from the
database and are cluster-wide: aggregate them across replicas with ``max``, not ``sum``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from services.observability.system import SystemSnapshot
from services.settings import get_settings

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_REQUESTS = Counter("dwc_http_requests_total", "HTTP requests answered, by route template, method and status.",
                        ("route", "method", "status"))
HTTP_LATENCY = Histogram("dwc_http_request_duration_seconds", "Time to answer an HTTP request, by route template.",
                         ("route", "method"), buckets=LATENCY_BUCKETS)


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """Count one answered request."""
    HTTP_REQUESTS.labels(route, method, str(status)).inc()
    HTTP_LATENCY.labels(route, method).observe(seconds)


class _SnapshotCollector(Collector):
    def __init__(self, snapshot: SystemSnapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterable[Metric]:
        return list(snapshot_metrics(self.snapshot))


def snapshot_metrics(s: SystemSnapshot) -> Iterator[Metric]:
    """The snapshot as Prometheus metric families."""
    runs = GaugeMetricFamily("dwc_runs", "Runs in the database by status.", labels=["status"])
    for status, count in sorted(s.runs_by_status.items()):
        runs.add_metric([status], count)
    yield runs
    yield GaugeMetricFamily("dwc_queue_depth", "Runs queued and not yet claimed by a worker.", value=s.queue_depth)
    steps = GaugeMetricFamily("dwc_step_duration_seconds_recent",
                              "Step duration quantiles over the steps finished in the last 15 minutes.",
                              labels=["quantile"])
    for q, seconds in sorted(s.step_duration_quantiles_s.items()):
        steps.add_metric([str(q)], seconds)
    yield steps
    yield GaugeMetricFamily("dwc_steps_finished_recent", "Steps finished in the last 15 minutes.", value=s.steps_recent)
    tokens = GaugeMetricFamily("dwc_ai_tokens", "AI tokens spent (input + output), all time.", labels=["provider"])
    cost = GaugeMetricFamily("dwc_ai_cost_usd", "AI spend in US dollars, all time.", labels=["provider"])
    calls = GaugeMetricFamily("dwc_ai_calls", "AI calls, all time (cache hits included).", labels=["provider"])
    for usage in s.ai_usage:
        tokens.add_metric([usage.provider], usage.tokens)
        cost.add_metric([usage.provider], usage.cost_usd)
        calls.add_metric([usage.provider], usage.calls)
    yield from (tokens, cost, calls)
    deliveries = GaugeMetricFamily("dwc_notification_deliveries", "Notification deliveries by channel and status.",
                                   labels=["channel", "status"])
    for row in s.deliveries:
        deliveries.add_metric([row.channel, row.status], row.count)
    yield deliveries
    cache = GaugeMetricFamily("dwc_cache_requests", "Cache lookups in this process by result.", labels=["result"])
    cache.add_metric(["hit"], s.cache_hits)
    cache.add_metric(["miss"], s.cache_misses)
    yield cache
    if s.cache_hit_ratio is not None:
        yield GaugeMetricFamily("dwc_cache_hit_ratio", "Cache hits / lookups in this process.", value=s.cache_hit_ratio)


def render_metrics(snapshot: SystemSnapshot) -> tuple[bytes, str]:
    """The text exposition of every metric, and its content type."""
    registry = CollectorRegistry()
    # prometheus_client itself reads PROMETHEUS_MULTIPROC_DIR when a metric is created; we only follow it.
    if get_settings().prometheus_multiproc_dir:
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_HttpCollector())
    registry.register(_SnapshotCollector(snapshot))
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _HttpCollector(Collector):
    def collect(self) -> Iterable[Metric]:
        yield from HTTP_REQUESTS.collect()
        yield from HTTP_LATENCY.collect()
