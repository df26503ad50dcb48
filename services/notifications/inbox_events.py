"""Live inbox events for the header bell, carried by the run event bus (in-process + Redis pub/sub).

The bus routes by its ``run_id`` key; inbox events use the key ``inbox:<user id>``, so a page
subscribes to ``inbox_topic(user_id)`` and hears every process's events for that user.
"""

from __future__ import annotations

import uuid
from typing import Any

from services.workflows.events import get_event_bus


def inbox_topic(user_id: uuid.UUID | str) -> str:
    return f"inbox:{user_id}"


def publish_inbox_event(user_id: uuid.UUID | str, kind: str, **data: Any) -> None:
    """Tell the user's open pages that their inbox changed (``kind``: new, read, unread, read_all, archived)."""
    get_event_bus().publish({"run_id": inbox_topic(user_id), "type": "inbox", "kind": kind,
                             "user_id": str(user_id), **data})
