"""The system's figures at one moment, read from the database and the cache: what /metrics and the System page show.

Both faces read this one snapshot, so the Prometheus series and the Plotly panel never disagree.
Figures from the database are cluster-wide (every replica reports the same values); the cache
figures are this process's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.ai_usage import AIUsage
from models.base import utcnow
from models.notification import Delivery
from models.run import Run, RunStatus, Step
from services.cache.service import cache_stats

RECENT_STEPS_WINDOW = timedelta(minutes=15)
_RECENT_STEPS_CAP = 20_000
QUANTILES = (0.5, 0.95, 0.99)


@dataclass(frozen=True, slots=True)
class ProviderUsage:
    provider: str
    calls: int
    tokens: int
    cost_usd: float


@dataclass(frozen=True, slots=True)
class DeliveryCount:
    channel: str
    status: str
    count: int


@dataclass(frozen=True, slots=True)
class SystemSnapshot:
    """Counts by status, recent step latency, AI spend, deliveries and the cache's hit ratio."""

    taken_at: datetime
    runs_by_status: dict[str, int]
    queue_depth: int
    step_duration_quantiles_s: dict[float, float] = field(default_factory=dict)
    steps_recent: int = 0
    ai_usage: list[ProviderUsage] = field(default_factory=list)
    deliveries: list[DeliveryCount] = field(default_factory=list)
    cache_hits: int = 0
    cache_misses: int = 0
    cache_hit_ratio: float | None = None


def quantile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank quantile of an ascending list (which must not be empty)."""
    index = min(len(sorted_values) - 1, max(0, round(q * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


async def system_snapshot(*, session: AsyncSession, now: datetime | None = None) -> SystemSnapshot:
    """Read every figure once (a handful of aggregate queries)."""
    moment = now or utcnow()
    by_status = {status.value: 0 for status in RunStatus}
    for status, count in (await session.exec(select(Run.status, func.count()).group_by(Run.status))).all():
        by_status[RunStatus(status).value] = int(count)
    durations = sorted(float(d) / 1000 for d in (await session.exec(
        select(Step.duration_ms).where(col(Step.finished_at) >= moment - RECENT_STEPS_WINDOW,
                                       col(Step.duration_ms).is_not(None))
        .limit(_RECENT_STEPS_CAP))).all() if d is not None)
    tokens = func.sum(AIUsage.input_tokens + AIUsage.output_tokens)
    ai_rows = (await session.exec(select(AIUsage.provider, func.count(), tokens, func.sum(AIUsage.cost_usd))
                                  .group_by(AIUsage.provider))).all()
    delivery_rows = (await session.exec(select(Delivery.channel, Delivery.status, func.count())
                                        .group_by(Delivery.channel, Delivery.status))).all()
    cache = await cache_stats()
    return SystemSnapshot(
        taken_at=moment, runs_by_status=by_status, queue_depth=by_status[RunStatus.QUEUED.value],
        step_duration_quantiles_s={q: quantile(durations, q) for q in QUANTILES} if durations else {},
        steps_recent=len(durations),
        ai_usage=[ProviderUsage(p, int(n), int(t or 0), float(c or 0.0)) for p, n, t, c in ai_rows],
        deliveries=[DeliveryCount(ch, str(getattr(st, "value", st)), int(n)) for ch, st, n in delivery_rows],
        cache_hits=cache.hits, cache_misses=cache.misses, cache_hit_ratio=cache.hit_ratio,
    )
