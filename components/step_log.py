"""A step's log (``state.run_format.log_text``): shown in the builder's node panel and the run viewer."""

from __future__ import annotations

import reflex as rx


def step_log(text: rx.Var[str], *, label: str = "Step log") -> rx.Component:
    """The log lines in a small scrolling monospace block, or a note when the step wrote none."""
    return rx.vstack(
        rx.text("Logs", size="1", weight="bold"),
        rx.cond(text != "",
                rx.el.pre(text, style={"margin": 0, "font_size": "11px", "white_space": "pre-wrap",
                                       "word_break": "break-word"},
                          max_height="160px", overflow_y="auto", width="100%", padding="6px",
                          background=rx.color("gray", 2), border=f"1px solid {rx.color('gray', 5)}",
                          border_radius="var(--radius-2)"),
                rx.text("No log lines for this step.", size="1", color=rx.color("gray", 10))),
        spacing="1", width="100%", role="region", aria_label=label,
    )
