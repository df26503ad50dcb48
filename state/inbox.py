"""The bell and the inbox: unread count, the latest items, the inbox list, and its live updates.

The bell mounts on every signed-in page and starts ``watch_inbox``, a background event that
subscribes to the user's inbox events (``services.notifications.inbox_events``: in-process, and
Redis pub/sub when configured) and reloads the count and lists when one arrives. One watcher
runs per browser tab in this process (``_WATCHERS`` is the guard: a tab's events reach the
process holding its websocket); it stops when the user signs out or the tab has gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import reflex as rx

from services import errors
from services.db import open_read_session, open_session
from services.notifications import inbox, ui_queries
from services.notifications.inbox_events import inbox_topic
from services.notifications.schemas import NotificationPublic
from services.workflows.events import get_event_bus
from state.auth import AuthState
from state.errors import form_message
from state.paging import PagedList
from state.tabs import tab_connected

log = logging.getLogger(__name__)

BELL_ITEMS = 5
ALL = "all"
# How often an idle watcher checks that its user is still signed in and its tab still connected.
CHECK_SECONDS = 10.0
# Checks in a row without a websocket before the watcher ends (a reload reconnects well within one).
ABSENT_CHECKS_TO_STOP = 2
_CHECK: dict[str, Any] = {"kind": "_check"}
# The watcher of each tab in this process: None while subscribing, then its subscription queue.
_WATCHERS: dict[str, asyncio.Queue[dict[str, Any]] | None] = {}


@dataclass
class InboxItem:
    id: str
    subject: str
    body: str
    category: str
    priority: str
    created: str
    read: bool
    archived: bool
    run_id: str
    node_id: str


def _item(n: NotificationPublic) -> InboxItem:
    return InboxItem(id=str(n.id), subject=n.subject or "(no subject)", body=n.body, category=n.category,
                     priority=n.priority.value, created=n.created_at.strftime("%Y-%m-%d %H:%M UTC"),
                     read=n.read_at is not None, archived=n.archived_at is not None,
                     run_id=str(n.run_id) if n.run_id else "", node_id=n.node_id or "")


def poke_watcher(tab: str) -> None:
    """Make ``tab``'s watcher check at once whether it should go on."""
    queue = _WATCHERS.get(tab)
    if queue is not None:
        queue.put_nowait(_CHECK)


class InboxState(PagedList, AuthState):
    """The signed-in user's inbox: the bell's count and latest items, and the inbox page's list."""

    unread: int = 0
    latest: list[InboxItem] = []
    items: list[InboxItem] = []
    category: str = ALL
    categories: list[str] = []
    unread_only: bool = False
    archived: bool = False
    live: bool = False
    inbox_error: str = ""
    inbox_notice: str = ""
    loaded: bool = False

    @rx.var
    def unread_label(self) -> str:
        return "99+" if self.unread > 99 else str(self.unread)

    def _filters(self) -> inbox.InboxFilter:
        return inbox.InboxFilter(category=None if self.category == ALL else self.category,
                                 unread_only=self.unread_only, archived=self.archived,
                                 offset=self.offset, limit=self.page_size)

    async def _reload(self) -> None:
        """Count, bell items, list and categories, in one session."""
        try:
            async with open_read_session() as session:
                user = await self._signed_in_user(session)
                listed = await inbox.get_all(user, self._filters(), session=session)
                newest = await inbox.get_all(user, inbox.InboxFilter(limit=BELL_ITEMS), session=session)
                self.categories = await ui_queries.inbox_categories(user, session=session)
        except errors.DomainError as exc:
            self.inbox_error = form_message(exc)
            return
        self.unread, self.total = listed.unread, listed.count
        self.items = [_item(n) for n in listed.data]
        self.latest = [_item(n) for n in newest.data]
        self.loaded = True

    @rx.event
    async def load(self) -> None:
        """on_load of /inbox."""
        self.inbox_error = self.inbox_notice = ""
        await self._reload()

    @rx.event
    async def set_category(self, category: str) -> None:
        self.category, self.page = category, 0
        await self._reload()

    @rx.event
    async def set_unread_only(self, value: bool) -> None:
        self.unread_only, self.page = value, 0
        await self._reload()

    @rx.event
    async def show_archive(self, view: str | list[str]) -> None:
        self.archived, self.page = view == "archive", 0
        await self._reload()

    async def _mark(self, notification_id: str, kind: str) -> None:
        self.inbox_error = self.inbox_notice = ""
        actions = {"read": inbox.mark_read, "unread": inbox.mark_unread, "archive": inbox.archive}
        try:
            async with open_session() as session:
                user = await self._signed_in_user(session)
                await actions[kind](user, uuid.UUID(notification_id), session=session)
        except errors.DomainError as exc:
            self.inbox_error = form_message(exc)
        if kind == "archive" and not self.inbox_error:
            self.inbox_notice = "Archived. Find it under Archive."
        await self._reload()

    @rx.event
    async def mark_read(self, notification_id: str) -> None:
        await self._mark(notification_id, "read")

    @rx.event
    async def mark_unread(self, notification_id: str) -> None:
        await self._mark(notification_id, "unread")

    @rx.event
    async def archive(self, notification_id: str) -> None:
        await self._mark(notification_id, "archive")

    @rx.event
    async def mark_all_read(self) -> None:
        self.inbox_error = self.inbox_notice = ""
        try:
            async with open_session() as session:
                user = await self._signed_in_user(session)
                changed = await inbox.mark_all_read(user, session=session)
        except errors.DomainError as exc:
            self.inbox_error = form_message(exc)
        else:
            self.inbox_notice = f"Marked {changed} {'notification' if changed == 1 else 'notifications'} read."
        await self._reload()

    @rx.event
    def bell_unmounted(self) -> None:
        """The shell left the page (navigation, or signing out): let the watcher check whether to go on."""
        poke_watcher(self.router.session.client_token)

    @rx.event(background=True)
    async def watch_inbox(self) -> None:
        """Keep the count and lists current while this tab is open and its user signed in."""
        async with self:
            tab, user_id = self.router.session.client_token, self.user_id
            if not user_id or tab in _WATCHERS:
                return
            _WATCHERS[tab] = None
            await self._reload()
        try:
            async with get_event_bus().subscribe(inbox_topic(user_id)) as queue:
                _WATCHERS[tab] = queue
                async with self:
                    self.live = True
                await self._follow(queue, tab, user_id)
        except Exception:  # the bell stops being live; the next page load starts a new watcher
            log.exception("the inbox watcher of a tab failed")
        finally:
            _WATCHERS.pop(tab, None)
            with contextlib.suppress(Exception):
                async with self:
                    self.live = False

    async def _follow(self, queue: asyncio.Queue[dict[str, Any]], tab: str, user_id: str) -> None:
        absent = 0
        while True:
            events = [_CHECK]
            with contextlib.suppress(TimeoutError):
                events = [await asyncio.wait_for(queue.get(), timeout=CHECK_SECONDS)]
            events += [queue.get_nowait() for _ in range(queue.qsize())]  # a burst reloads once
            absent = 0 if tab_connected(tab) else absent + 1
            async with self:
                if self.user_id != user_id or absent >= ABSENT_CHECKS_TO_STOP:
                    return
                if any(event.get("kind") != "_check" for event in events):
                    await self._reload()
