"""/ — the signed-in account, the last 24 hours at a glance (live while runs finish), and recent activity."""

from __future__ import annotations

import reflex as rx

from components.cards import empty_state, stat_card
from components.charts import chart_card, kpi_card
from components.layout import protected_page
from state.analytics_charts import InsightView, KpiCard
from state.overview import ActivityRow, OverviewState

S = OverviewState


def _activity_row(row: ActivityRow) -> rx.Component:
    return rx.table.row(rx.table.cell(row.action), rx.table.cell(row.ip), rx.table.cell(row.at))


def _account_card() -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.avatar(fallback=OverviewState.initials, size="5", radius="full"),
            rx.vstack(rx.heading(OverviewState.display_name, size="5", as_="h2"),
                      rx.text(OverviewState.user_email, color=rx.color("gray", 11)),
                      rx.badge(OverviewState.user_role, size="2"), spacing="1", align="start"),
            spacing="4", align="center",
        ),
        width="100%",
    )


def _kpi(card: KpiCard) -> rx.Component:
    return kpi_card(card.label, card.value, card.change, card.tone)


def _insight(item: InsightView) -> rx.Component:
    return rx.hstack(rx.badge(item.severity, color_scheme=rx.match(item.colour, ("red", "red"), ("amber", "amber"),
                                                                   "blue")),
                     rx.text(item.title, size="2"), align="center", spacing="2", role="listitem")


def _last_day() -> rx.Component:
    """Key figures of the last 24 hours against the 24 before, runs per hour, and the top insights."""
    return rx.vstack(
        rx.hstack(rx.heading("Last 24 hours", size="4", as_="h2"), rx.spacer(),
                  rx.cond(S.watching, rx.badge(rx.icon("radio", size=12), "live", color_scheme="green",
                                               variant="soft", id="overview-live")),
                  rx.text("updated ", S.refreshed_at, size="1", color=rx.color("gray", 10)),
                  rx.link("Open analytics", href="/analytics", size="2"), width="100%", align="center",
                  spacing="3"),
        rx.cond(S.figures_error != "", rx.text(S.figures_error, size="2", color=rx.color("red", 11), role="alert")),
        rx.grid(rx.foreach(S.kpis, _kpi), columns=rx.breakpoints(initial="2", md="4"), spacing="3", width="100%",
                role="region", aria_label="Key figures"),
        chart_card("Runs per hour, by status", S.runs_chart, S.has_runs, icon="chart-column-stacked",
                   chart_id="overview-runs", empty="No runs finished in the last 24 hours."),
        rx.cond(S.insights.length() > 0,
                rx.card(rx.vstack(rx.heading("Insights", size="3", as_="h3"),
                                  rx.vstack(rx.foreach(S.insights, _insight), role="list", spacing="2"),
                                  spacing="2"), width="100%")),
        spacing="3", width="100%", on_mount=S.watch_runs, on_unmount=S.stop_watching,
    )


@protected_page(route="/", title="Overview", on_load=[OverviewState.load])
def overview() -> rx.Component:
    return rx.vstack(
        _account_card(),
        _last_day(),
        rx.skeleton(
            rx.grid(
                stat_card("Accounts in this workspace", OverviewState.users_total, "users"),
                stat_card("Your active sign-ins", OverviewState.active_sign_ins, "monitor-smartphone"),
                stat_card("Failed sign-ins (30 days)", OverviewState.failed_sign_ins, "shield-alert"),
                columns=rx.breakpoints(initial="1", md="3"), spacing="4", width="100%",
            ),
            loading=~OverviewState.loaded,
        ),
        rx.heading("Recent activity", size="4", as_="h2", margin_top="8px"),
        rx.cond(
            OverviewState.recent.length() > 0,
            rx.table.root(
                rx.table.header(rx.table.row(rx.table.column_header_cell("What"),
                                             rx.table.column_header_cell("From"),
                                             rx.table.column_header_cell("When"))),
                rx.table.body(rx.foreach(OverviewState.recent, _activity_row)),
                variant="surface", width="100%",
            ),
            empty_state("history", "No activity yet", "Sign-ins and account changes will show up here."),
        ),
        spacing="4", width="100%",
    )
