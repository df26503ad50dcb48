"""Recording every AI call (``AIUsage`` rows) and reading spend back for budgets and reports."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Date, Table, case, cast, func, insert, select

from models.ai_usage import AIUsage
from models.base import utcnow
from services.analytics.hooks import record_ai_call
from services.db import get_engine, open_read_connection

USAGE: Table = AIUsage.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class CallContext:
    """Who an AI call is for: the user, and the run and node when a workflow makes it."""

    user_id: uuid.UUID | None = None
    run_id: uuid.UUID | None = None
    node_id: str | None = None


@dataclass(frozen=True)
class UsageEntry:
    operation: str
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    latency_ms: float
    cached: bool = False
    fallback_from: tuple[str, ...] = ()


async def record(entry: UsageEntry, context: CallContext) -> None:
    """One row for one call, in its own short transaction (and an analytics event)."""
    record_ai_call(entry, context)
    async with get_engine().begin() as conn:
        await conn.execute(insert(USAGE).values(
            user_id=context.user_id, run_id=context.run_id, node_id=context.node_id, operation=entry.operation,
            provider=entry.provider, model=entry.model[:100], input_tokens=entry.input_tokens,
            output_tokens=entry.output_tokens, cost_usd=entry.cost_usd, latency_ms=round(entry.latency_ms, 3),
            cached=entry.cached, fallback_from=",".join(entry.fallback_from)[:200] or None, created_at=utcnow()))


def start_of_utc_day(now: datetime | None = None) -> datetime:
    moment = now or utcnow()
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


async def spent_today(user_id: uuid.UUID) -> float:
    """USD the user's calls cost since 00:00 UTC."""
    return await _sum_cost(USAGE.c.user_id == user_id, USAGE.c.created_at >= start_of_utc_day())


async def spent_by_run(run_id: uuid.UUID) -> float:
    return await _sum_cost(USAGE.c.run_id == run_id)


async def _sum_cost(*conditions: object) -> float:
    # Each read is one statement outside a transaction: on SQLite a transaction would take the write
    # lock (BEGIN IMMEDIATE) and wait behind a running workflow's step writes (a budget check per AI call).
    async with open_read_connection() as conn:
        total = (await conn.execute(select(func.coalesce(func.sum(USAGE.c.cost_usd), 0.0))
                                    .where(*conditions))).scalar_one()  # type: ignore[arg-type]
    return float(total)


@dataclass(frozen=True)
class UsageTotal:
    day: str
    provider: str
    model: str
    calls: int
    cached_calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float


async def totals(*, user_id: uuid.UUID | None, days: int) -> list[UsageTotal]:
    """Totals by UTC day, provider and model over the last ``days`` days; ``user_id=None`` means everyone."""
    engine = get_engine()
    day = (cast(func.timezone("UTC", USAGE.c.created_at), Date) if engine.dialect.name == "postgresql"
           else func.date(USAGE.c.created_at)).label("day")
    query = (select(day, USAGE.c.provider, USAGE.c.model, func.count(), func.sum(case((USAGE.c.cached, 1), else_=0)),
                    func.sum(USAGE.c.input_tokens), func.sum(USAGE.c.output_tokens), func.sum(USAGE.c.cost_usd))
             .where(USAGE.c.created_at >= start_of_utc_day() - timedelta(days=days - 1))
             .group_by(day, USAGE.c.provider, USAGE.c.model).order_by(day.desc(), USAGE.c.provider, USAGE.c.model))
    if user_id is not None:
        query = query.where(USAGE.c.user_id == user_id)
    async with open_read_connection() as conn:
        rows = (await conn.execute(query)).all()
    return [UsageTotal(day=str(row[0]), provider=row[1], model=row[2], calls=int(row[3]),
                       cached_calls=int(row[4] or 0),
                       input_tokens=int(row[5] or 0), output_tokens=int(row[6] or 0),
                       cost_usd=round(float(row[7] or 0.0), 10))
            for row in rows]
