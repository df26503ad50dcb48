"""Chart cards: a titled card holding an ``rx.plotly`` figure sized to the card, or the card's empty state."""

from __future__ import annotations

import plotly.graph_objects as go
import reflex as rx

# Plotly's own controls, trimmed to what a dashboard reader uses; no plotly.com link.
PLOT_CONFIG = {"displaylogo": False, "responsive": True,
               "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"]}


def chart_card(title: str, figure: rx.Var[go.Figure], present: rx.Var[bool], *, empty: str, icon: str,
               chart_id: str, hint: str = "") -> rx.Component:
    """A card with ``figure`` when ``present``, else a short sentence saying what will show here."""
    return rx.card(
        rx.vstack(
            rx.hstack(rx.icon(icon, size=16, color=rx.color("accent", 10)),
                      rx.heading(title, size="3", as_="h3"), align="center", spacing="2"),
            rx.cond(hint != "", rx.text(hint, size="1", color=rx.color("gray", 10))),
            rx.cond(
                present,
                rx.plotly.strict(data=figure, config=PLOT_CONFIG, width="100%", height="280px", id=chart_id),
                rx.center(rx.vstack(rx.icon("chart-no-axes-column", size=24, color=rx.color("gray", 9)),
                                    rx.text(empty, size="2", color=rx.color("gray", 10), text_align="center"),
                                    align="center", spacing="2"),
                          height="280px", width="100%", custom_attrs={"data-empty-chart": chart_id}),
            ),
            spacing="2", width="100%",
        ),
        width="100%", role="figure", aria_label=title,
    )


def kpi_card(label: rx.Var[str], value: rx.Var[str], change: rx.Var[str], tone: rx.Var[str]) -> rx.Component:
    """A headline figure with its change against the previous period (green better, red worse)."""
    return rx.card(
        rx.vstack(
            rx.text(label, size="2", color=rx.color("gray", 11)),
            rx.heading(value, size="6", as_="p", custom_attrs={"data-kpi-value": "true"}),
            rx.cond(change != "",
                    rx.text(change, size="1", color=rx.match(tone, ("green", rx.color("green", 11)),
                                                             ("red", rx.color("red", 11)), rx.color("gray", 10))),
                    rx.text("no previous figure to compare", size="1", color=rx.color("gray", 9))),
            spacing="1", align="start", width="100%",
        ),
        width="100%", role="group", aria_label=label,
    )
