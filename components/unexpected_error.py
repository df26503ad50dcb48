"""The banner over every page, and over any open dialog, that says a page event failed unexpectedly
(``state.unexpected_error``)."""

from __future__ import annotations

import reflex as rx

from components.top_layer import top_layer
from state.unexpected_error import UnexpectedErrorState


def unexpected_error_banner() -> rx.Component:
    return rx.cond(
        UnexpectedErrorState.message != "",
        top_layer(rx.callout.root(
            rx.hstack(
                rx.callout.icon(rx.icon("circle-alert")),
                rx.callout.text(UnexpectedErrorState.message, " (reference ", rx.code(UnexpectedErrorState.reference),
                                ")"),
                rx.spacer(),
                rx.icon_button(rx.icon("x", size=14), variant="ghost", color_scheme="red", size="1",
                               aria_label="Dismiss", on_click=UnexpectedErrorState.dismiss),
                align="center", width="100%",
            ),
            color_scheme="red", role="alert", id="unexpected-error", position="fixed", top="12px", left="50%",
            transform="translateX(-50%)", width="min(640px, calc(100vw - 24px))", box_shadow="var(--shadow-4)",
            # Solid, not the soft variant's translucent red: the page's headings would show through it.
            background_color=rx.color("red", 3),
            # An open modal dialog turns pointer events off on the body, and so on everything it holds.
            pointer_events="auto",
        )),
    )
