"""/settings/system — the admin's system panel: the numbers /metrics exports, as cards and Plotly charts."""

from __future__ import annotations

import reflex as rx

from components.cards import empty_state, stat_card
from components.forms import form_alert
from components.layout import protected_page
from state.system import SystemState


def _chart(figure: rx.Var, shown: rx.Var[bool] | bool, empty_title: str, empty_body: str) -> rx.Component:
    # The strict bundle: Plotly built without eval, so the page keeps a CSP without 'unsafe-eval'.
    return rx.card(rx.cond(shown, rx.plotly.strict(data=figure, use_resize_handler=True, width="100%"),
                           empty_state("chart-bar", empty_title, empty_body)), width="100%")


def _panel() -> rx.Component:
    return rx.vstack(
        rx.hstack(rx.text("Figures as of ", SystemState.taken_at, size="2", color=rx.color("gray", 11)),
                  rx.spacer(),
                  rx.button(rx.icon("refresh-cw", size=14), "Refresh", variant="soft", loading=SystemState.loading,
                            on_click=SystemState.load),
                  width="100%", align="center"),
        form_alert(SystemState.system_error),
        rx.grid(
            stat_card("Queued runs", SystemState.queue_depth, "list-ordered", "waiting for a worker"),
            stat_card("Step p50 / p95", SystemState.step_p50 + " / " + SystemState.step_p95, "timer",
                      "steps finished in the last 15 minutes"),
            stat_card("Cache hit ratio", SystemState.cache_hit_ratio, "database-zap", "this process"),
            stat_card("AI tokens", SystemState.ai_tokens, "sparkles", "all time"),
            columns=rx.breakpoints(initial="1", sm="2", lg="4"), spacing="4", width="100%",
        ),
        rx.grid(
            _chart(SystemState.runs_chart, True, "", ""),
            _chart(SystemState.deliveries_chart, SystemState.has_deliveries, "No deliveries yet",
                   "Notifications sent by workflows or the API appear here by channel and status."),
            _chart(SystemState.ai_chart, SystemState.has_ai, "No AI calls yet",
                   "Spend per provider appears here once a workflow or AI Studio calls a model."),
            columns=rx.breakpoints(initial="1", lg="3"), spacing="4", width="100%",
        ),
        rx.text("Prometheus scrapes the same figures at /metrics.", size="1", color=rx.color("gray", 10)),
        spacing="4", width="100%",
    )


@protected_page(route="/settings/system", title="System", on_load=[SystemState.load])
def system() -> rx.Component:
    return rx.cond(SystemState.allowed, _panel(),
                   rx.callout("Only admins see the system panel.", icon="lock", color_scheme="amber", width="100%"))
