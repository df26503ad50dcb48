"""What the rest of the product calls to record an event: one line at each place where something happens.

Each function only queues an event on the recorder (no I/O); see ``recorder``.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from models.analytics import EventType
from services.analytics.recorder import record_event

if TYPE_CHECKING:
    from models.notification import Delivery, DeliveryStatus
    from models.run import RunStatus
    from services.ai.usage import CallContext, UsageEntry


def record_login(user_id: uuid.UUID) -> None:
    record_event(EventType.LOGIN, user_id=user_id)


def record_workflow_created(workflow_id: int | None, user_id: uuid.UUID) -> None:
    record_event(EventType.WORKFLOW_CREATED, workflow_id=workflow_id, user_id=user_id)


def record_workflow_edited(workflow_id: int, user_id: uuid.UUID, *, version: int | None = None) -> None:
    record_event(EventType.WORKFLOW_EDITED, workflow_id=workflow_id, user_id=user_id,
                 payload={"version": version} if version is not None else None)


def record_run_started(run_id: uuid.UUID, workflow_id: int, user_id: uuid.UUID | None, trigger: str) -> None:
    """A run was created and handed to the dispatcher (UI, API, webhook, schedule or another run)."""
    record_event(EventType.RUN_STARTED, run_id=run_id, workflow_id=workflow_id, user_id=user_id, status="queued",
                 payload={"trigger": trigger})


def record_page_view(user_id: uuid.UUID, path: str) -> None:
    """A signed-in user opened a page of the dashboard (the path only: no query string)."""
    record_event(EventType.PAGE_VIEW, user_id=user_id, payload={"path": path.split("?", 1)[0][:200]})


def record_ui_action(user_id: uuid.UUID, action: str, **details: str | int | None) -> None:
    """Something a user did in the dashboard (changed a filter, downloaded a report...)."""
    record_event(EventType.UI_ACTION, user_id=user_id, payload={"action": action[:100], **details})


def record_api_call(user_id: uuid.UUID, method: str, route: str) -> None:
    """A signed-in API request (``route`` is the route template, so ids do not end up in the payload)."""
    record_event(EventType.API_CALL, user_id=user_id, payload={"method": method[:10], "route": route[:200]})


def record_cache_stats(hits: int, misses: int, *, backend: str) -> None:
    """One process's cache gets since its previous snapshot; ``value`` is their hit ratio."""
    gets = hits + misses
    record_event(EventType.CACHE_STATS, value=round(hits / gets, 4) if gets else None,
                 payload={"backend": backend, "hits": hits, "misses": misses})


async def record_run_finished(run_id: uuid.UUID, workflow_id: int, status: RunStatus) -> None:
    """An engine ``on_finished`` hook. Duration, user, tokens, cost and the steps are filled in at write time."""
    record_event(EventType.RUN_FINISHED, run_id=run_id, workflow_id=workflow_id, status=str(status))


def record_ai_call(entry: UsageEntry, context: CallContext) -> None:
    """The call that answered, plus a failed call for each provider that was tried before it (a run's call gets
    the run's workflow when the batch is written)."""
    for failed in entry.fallback_from:
        record_event(EventType.AI_CALL, user_id=context.user_id, run_id=context.run_id, node_id=context.node_id,
                     provider=failed[:30], status="failed", payload={"operation": entry.operation})
    record_event(EventType.AI_CALL, user_id=context.user_id, run_id=context.run_id, node_id=context.node_id,
                 provider=entry.provider[:30], model=entry.model[:100], status="succeeded",
                 duration_ms=entry.latency_ms, tokens=entry.input_tokens + entry.output_tokens,
                 cost_usd=entry.cost_usd, payload={"operation": entry.operation, "cached": entry.cached,
                                                   "input_tokens": entry.input_tokens,
                                                   "output_tokens": entry.output_tokens})


def record_delivery(delivery: Delivery, status: DeliveryStatus, *, user_id: uuid.UUID | None = None,
                    reason: str | None = None) -> None:
    """One delivery attempt's outcome: sent, or failed (``queued`` again when it will be retried). The run and
    workflow of a notification a run sent are filled in when the batch is written."""
    sent = str(status) == "sent"
    record_event(EventType.NOTIFICATION_SENT if sent else EventType.NOTIFICATION_FAILED, user_id=user_id,
                 channel=delivery.channel[:30], status=str(status), value=float(delivery.attempts),
                 payload={"notification_id": str(delivery.notification_id),
                          **({"reason": reason[:300]} if reason else {})})
