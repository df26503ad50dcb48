"""What this process knows about the browser tabs connected to it."""

from __future__ import annotations


def tab_connected(tab: str) -> bool:
    """Whether this process holds a websocket for ``tab`` (True when that cannot be told).

    Background tasks that push to one tab (inbox, overview, services page) stop when it is gone.
    """
    try:
        from reflex.utils.prerequisites import get_app

        namespace = get_app().app.event_namespace
    except Exception:  # outside a running app (tests, scripts): assume the tab is there
        return True
    return namespace is None or tab in namespace.token_to_sid
