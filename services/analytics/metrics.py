"""The metric table: which events each metric reads and how a bucket's value is aggregated, raw or rolled up.

``METRICS`` names every figure ``timeseries`` can chart; each entry aggregates the raw events
(``value``) and, when the rollups hold it, rollup-shaped rows (``rolled``, see ``sources.rollup_source``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Float, Table, case, cast, distinct, func
from sqlalchemy.sql import ColumnCollection
from sqlalchemy.sql.elements import ColumnElement

from models.analytics import AnalyticsEvent, EventType
from services.analytics.rollup import USER_EVENTS
from services.analytics.windows import Window

EVENTS: Table = AnalyticsEvent.__table__  # type: ignore[attr-defined]
E = EVENTS.c

GroupBy = Literal["workflow", "user", "provider", "model", "channel", "status"]
GROUP_COLUMNS: dict[str, Any] = {"workflow": E.workflow_id, "user": E.user_id, "provider": E.provider,
                                 "model": E.model, "channel": E.channel, "status": E.status}
Metric = Literal["runs", "run_failures", "run_duration_ms", "steps", "ai_calls", "ai_tokens", "ai_cost_usd",
                 "ai_latency_ms", "notifications", "notification_failures", "logins", "active_users"]
FAILED_DELIVERY = ("failed", "dead")  # a notification_failed event with status queued will be retried


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.sum(case((condition, 1), else_=0))


Rolled = Callable[[ColumnCollection[str, Any]], ColumnElement[Any]]


@dataclass(frozen=True)
class MetricSpec:
    """Which events a metric reads and how a bucket's value is aggregated; ``additive`` ones are 0 when empty.

    ``value`` aggregates raw events; ``rolled`` the same figure over rollup-shaped rows (see ``_source``),
    None when the rollups cannot give it (distinct users have their own tables).
    """

    types: tuple[EventType, ...]
    value: ColumnElement[Any]
    rolled: Rolled | None
    additive: bool = True
    description: str = ""


def _events(c: ColumnCollection[str, Any]) -> ColumnElement[Any]:
    return func.sum(c.events)


def _events_if(condition: Callable[[ColumnCollection[str, Any]], ColumnElement[bool]]) -> Rolled:
    return lambda c: func.sum(case((condition(c), c.events), else_=0))


def _mean_duration(c: ColumnCollection[str, Any]) -> ColumnElement[Any]:
    return func.sum(c.duration_sum) / func.nullif(cast(func.sum(c.duration_count), Float), 0.0)


_RUN = (EventType.RUN_FINISHED,)
_AI = (EventType.AI_CALL,)
NOTIFY_TYPES = (EventType.NOTIFICATION_SENT, EventType.NOTIFICATION_FAILED)
METRICS: dict[str, MetricSpec] = {
    "runs": MetricSpec(_RUN, func.count(), _events, description="finished runs"),
    "run_failures": MetricSpec(_RUN, _count_if(E.status == "failed"), _events_if(lambda c: c.status == "failed"),
                               description="failed runs"),
    "run_duration_ms": MetricSpec(_RUN, func.avg(E.duration_ms), _mean_duration, additive=False,
                                  description="mean run duration"),
    "steps": MetricSpec((EventType.STEP_FINISHED,), func.count(), _events, description="finished steps"),
    "ai_calls": MetricSpec(_AI, func.count(), _events, description="AI calls (failed attempts included)"),
    "ai_tokens": MetricSpec(_AI, func.coalesce(func.sum(E.tokens), 0), lambda c: func.coalesce(func.sum(c.tokens), 0),
                            description="AI tokens"),
    "ai_cost_usd": MetricSpec(_AI, func.coalesce(func.sum(E.cost_usd), 0.0),
                              lambda c: func.coalesce(func.sum(c.cost_usd), 0.0), description="AI cost in USD"),
    "ai_latency_ms": MetricSpec(_AI, func.avg(E.duration_ms), _mean_duration, additive=False,
                                description="mean AI latency"),
    "notifications": MetricSpec(NOTIFY_TYPES, func.count(), _events, description="delivery attempts"),
    "notification_failures": MetricSpec(NOTIFY_TYPES, _count_if(E.status.in_(FAILED_DELIVERY)),
                                        _events_if(lambda c: c.status.in_(FAILED_DELIVERY)),
                                        description="deliveries that failed for good"),
    "logins": MetricSpec((EventType.LOGIN,), func.count(), _events, description="sign-ins"),
    "active_users": MetricSpec(USER_EVENTS, func.count(distinct(E.user_id)), None, additive=False,
                               description="distinct users with activity"),
}


def in_window(window: Window) -> list[ColumnElement[bool]]:
    return [E.time >= window.start, E.time < window.end]


def of_types(types: Sequence[EventType]) -> ColumnElement[bool]:
    return E.type.in_([t.value for t in types])


def group_label(value: Any) -> str | None:
    return None if value is None else str(value)


__all__ = [
    "EVENTS",
    "FAILED_DELIVERY",
    "GROUP_COLUMNS",
    "METRICS",
    "E",
    "GroupBy",
    "Metric",
    "MetricSpec",
    "group_label",
    "in_window",
    "of_types",
]
