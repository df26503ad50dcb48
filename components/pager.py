"""The row under a paged table: where you are, and Previous / Next."""

from __future__ import annotations

import reflex as rx

from state.paging import PagedList


def pager(state: type[PagedList], **props: object) -> rx.Component:
    """"Page 2 of 5 · 93 workflows" with Previous and Next, each disabled where there is nowhere to go."""
    return rx.hstack(
        rx.text(state.page_label, size="2", color=rx.color("gray", 11)),
        rx.spacer(),
        rx.button("Previous", size="1", variant="soft", disabled=~state.has_previous, on_click=state.go_to_page(-1)),
        rx.button("Next", size="1", variant="soft", disabled=~state.has_next, on_click=state.go_to_page(1)),
        width="100%", align="center", **props,
    )
