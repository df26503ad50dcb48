"""Form fields with a label, an inline error under the input, and keyboard-friendly defaults."""

from __future__ import annotations

import reflex as rx


def text_field(label: str, name: str, error: rx.Var[str], *, type_: str = "text", placeholder: str = "",
               hint: str = "", auto_focus: bool = False, autocomplete: str = "",
               default_value: rx.Var[str] | str = "") -> rx.Component:
    return rx.vstack(
        rx.el.label(rx.text(label, size="2", weight="medium"), html_for=name),
        rx.input(id=name, name=name, type=type_, placeholder=placeholder, auto_focus=auto_focus,
                 auto_complete=autocomplete, default_value=default_value, size="3", width="100%",
                 aria_invalid=rx.cond(error != "", "true", "false"), aria_describedby=f"{name}-error"),
        rx.cond(
            error != "",
            rx.text(error, id=f"{name}-error", size="1", color=rx.color("red", 11), role="alert"),
            rx.cond(hint != "", rx.text(hint, size="1", color=rx.color("gray", 10))),
        ),
        spacing="1", width="100%", align="start",
    )


def form_alert(message: rx.Var[str], *, color: str = "red", icon: str = "circle-alert") -> rx.Component:
    return rx.cond(
        message != "",
        rx.callout(message, icon=icon, color_scheme=color, role="alert" if color == "red" else "status",
                   width="100%", size="1"),
    )


def submit_button(label: str, busy: rx.Var[bool]) -> rx.Component:
    return rx.button(rx.cond(busy, rx.spinner(size="2"), rx.fragment()), label, type="submit", size="3",
                     width="100%", disabled=busy)
