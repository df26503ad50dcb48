"""A list shown a page at a time: the state every paged table shares (workflows, runs, users, audit...)."""

from __future__ import annotations

from typing import ClassVar

import reflex as rx


class PagedList(rx.State, mixin=True):
    """Which page is shown, how many rows there are in all, and the moves between pages.

    A state mixes this in before its parent (``class UsersState(PagedList, AuthState)``), sets
    ``page_size`` and ``noun``, fills ``total`` in ``_reload`` and reads a page with ``offset``.
    """

    page_size: ClassVar[int] = 20
    noun: ClassVar[tuple[str, str]] = ("item", "items")  # singular, plural

    page: int = 0
    total: int = 0

    @rx.var
    def page_count(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @rx.var
    def has_previous(self) -> bool:
        return self.page > 0

    @rx.var
    def has_next(self) -> bool:
        return (self.page + 1) * self.page_size < self.total

    @rx.var
    def page_label(self) -> str:
        noun = self.noun[0] if self.total == 1 else self.noun[1]
        return f"Page {self.page + 1} of {self.page_count} · {self.total} {noun}"

    @property
    def offset(self) -> int:
        """Where the shown page starts, for the service call."""
        return self.page * self.page_size

    async def _reload(self) -> None:
        """Read the shown page and set ``total``."""
        raise NotImplementedError

    @rx.event
    async def go_to_page(self, delta: int) -> None:
        """Move ``delta`` pages (-1 back, 1 on), staying within the pages there are."""
        self.page = min(max(0, self.page + delta), self.page_count - 1)
        await self._reload()
