"""Cards: a figure with its label, and an empty state that says what will be here."""

from __future__ import annotations

import reflex as rx


def stat_card(label: str, value: rx.Var[int] | rx.Var[str] | str, icon: str, hint: str = "") -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.vstack(rx.text(label, size="2", color=rx.color("gray", 11)),
                      rx.heading(value, size="7", as_="p"),
                      rx.cond(hint != "", rx.text(hint, size="1", color=rx.color("gray", 10))),
                      spacing="1", align="start"),
            rx.spacer(),
            rx.box(rx.icon(icon, size=22), padding="10px", border_radius="var(--radius-3)",
                   background=rx.color("accent", 3), color=rx.color("accent", 11)),
            align="start", width="100%",
        ),
        width="100%",
    )


def empty_state(icon: str, title: str, body: str) -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.box(rx.icon(icon, size=32), padding="14px", border_radius="9999px",
                   background=rx.color("gray", 3), color=rx.color("gray", 10)),
            rx.heading(title, size="4", as_="h2"),
            rx.text(body, size="2", color=rx.color("gray", 11), text_align="center", max_width="440px"),
            align="center", spacing="3",
        ),
        padding="48px", border=f"1px dashed {rx.color('gray', 6)}", border_radius="var(--radius-4)", width="100%",
    )
