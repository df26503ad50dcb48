"""/analytics — KPI cards with their change, runs, durations, success rates, AI usage, deliveries, active
users and insights for a time range and workflow; the report download and the scheduled report."""

from __future__ import annotations

import reflex as rx

from components.cards import empty_state
from components.charts import chart_card, kpi_card
from components.forms import form_alert
from components.layout import protected_page
from state.analytics import ALL_WORKFLOWS, REPORT_CHOICES, AnalyticsState
from state.analytics_charts import InsightView, KpiCard

S = AnalyticsState


def _filters() -> rx.Component:
    return rx.hstack(
        rx.segmented_control.root(
            rx.segmented_control.item("24 hours", value="day"),
            rx.segmented_control.item("7 days", value="week"),
            rx.segmented_control.item("30 days", value="month"),
            value=S.time_range, on_change=S.set_time_range, aria_label="Time range", id="time-range"),
        rx.select.root(
            rx.select.trigger(aria_label="Workflow", min_width="200px"),
            rx.select.content(rx.select.item("All workflows", value=ALL_WORKFLOWS),
                              rx.foreach(S.workflow_options,
                                         lambda w: rx.select.item(w.name, value=w.id))),
            value=S.workflow, on_change=S.set_workflow),
        rx.cond(S.loading, rx.spinner(size="2")),
        rx.spacer(),
        rx.menu.root(
            rx.menu.trigger(rx.button(rx.icon("download", size=14), "Report", variant="soft")),
            rx.menu.content(rx.menu.item("Markdown (.md)", on_click=S.download_report("markdown")),
                            rx.menu.item("HTML (.html)", on_click=S.download_report("html")))),
        width="100%", align="center", wrap="wrap", spacing="3",
    )


def _kpi(card: KpiCard) -> rx.Component:
    return kpi_card(card.label, card.value, card.change, card.tone)


def _insight(item: InsightView) -> rx.Component:
    return rx.callout.root(
        rx.callout.icon(rx.icon("lightbulb", size=16)),
        rx.vstack(rx.text(item.title, weight="bold", size="2"), rx.text(item.message, size="2"),
                  rx.text(item.numbers, size="1", color=rx.color("gray", 10)), spacing="1"),
        color_scheme=rx.match(item.colour, ("red", "red"), ("amber", "amber"), "blue"),
        width="100%", role="listitem",
    )


def _insights() -> rx.Component:
    return rx.card(rx.vstack(
        rx.hstack(rx.icon("lightbulb", size=16, color=rx.color("accent", 10)),
                  rx.heading("Insights", size="3", as_="h3"), align="center", spacing="2"),
        rx.cond(S.insights.length() > 0,
                rx.vstack(rx.foreach(S.insights, _insight), spacing="2", width="100%", role="list",
                          aria_label="Insights"),
                rx.text("Nothing stands out: no failure spikes, slow or costly outliers, degrading providers or "
                        "delivery drops in the data.", size="2", color=rx.color("gray", 10))),
        spacing="3", width="100%"), width="100%")


def _report_schedule() -> rx.Component:
    return rx.card(rx.vstack(
        rx.hstack(rx.icon("mail", size=16, color=rx.color("accent", 10)),
                  rx.heading("Scheduled report", size="3", as_="h3"), align="center", spacing="2"),
        rx.text("The summary, top insights and key figures, by email and in your inbox at 07:00 UTC.", size="2",
                color=rx.color("gray", 11)),
        rx.hstack(
            rx.select.root(  # the label on the trigger: the high-level rx.select leaves the combobox unnamed
                rx.select.trigger(aria_label="Report frequency"),
                rx.select.content(*(rx.select.item(choice, value=choice) for choice in REPORT_CHOICES)),
                value=S.report_frequency, on_change=S.set_report_frequency),
            rx.cond(S.report_next != "", rx.text("Next: ", S.report_next, size="1", color=rx.color("gray", 10))),
            align="center", spacing="3"),
        rx.cond(S.report_notice != "", rx.text(S.report_notice, size="1", color=rx.color("green", 11),
                                               role="status")),
        spacing="2", width="100%"), width="100%")


def _charts() -> rx.Component:
    two = rx.breakpoints(initial="1", lg="2")
    return rx.vstack(
        chart_card("Runs over time, by status", S.runs_chart, S.has_chart["runs"], icon="chart-column-stacked",
                   chart_id="chart-runs", empty="No runs finished in this period."),
        rx.grid(
            chart_card("Run duration", S.durations_chart, S.has_chart["durations"], icon="timer",
                       chart_id="chart-durations", empty="No finished runs with a duration in this period."),
            chart_card("Success rate by workflow", S.success_chart, S.has_chart["success"], icon="circle-check",
                       chart_id="chart-success", empty="No workflow finished a run in this period."),
            chart_card("AI tokens by model", S.tokens_chart, S.has_chart["tokens"], icon="sparkles",
                       chart_id="chart-tokens", empty="No AI calls in this period."),
            chart_card("AI cost by provider", S.cost_chart, S.has_chart["cost"], icon="circle-dollar-sign",
                       chart_id="chart-cost", empty="No AI spend in this period."),
            chart_card("Notification deliveries", S.deliveries_chart, S.has_chart["deliveries"], icon="send",
                       chart_id="chart-deliveries", empty="No notifications were delivered in this period.",
                       hint="Attempts per channel and outcome (for one workflow: its runs' notifications)."),
            chart_card("Active users", S.heatmap_chart, S.has_chart["heatmap"], icon="users",
                       chart_id="chart-heatmap", empty="Nobody was active in this period.",
                       hint="Distinct users per weekday and hour (UTC)."),
            columns=two, spacing="4", width="100%"),
        spacing="4", width="100%",
    )


@protected_page(route="/analytics", title="Analytics", on_load=[S.load])
def analytics() -> rx.Component:
    return rx.vstack(
        _filters(),
        form_alert(S.error),
        rx.cond(
            S.loaded,
            rx.vstack(
                rx.text("Period: ", S.period, ", compared with the period of the same length before it.", size="1",
                        color=rx.color("gray", 10), id="analytics-period"),
                rx.grid(rx.foreach(S.kpis, _kpi), columns=rx.breakpoints(initial="2", md="4"), spacing="3",
                        width="100%", role="region", aria_label="Key figures"),
                _charts(),
                rx.grid(_insights(), _report_schedule(), columns=rx.breakpoints(initial="1", lg="2"), spacing="4",
                        width="100%"),
                spacing="4", width="100%"),
            rx.cond(S.error == "", rx.center(rx.spinner(size="3"), padding="48px", width="100%"),
                    empty_state("chart-line", "The figures could not load", "Try again in a moment.")),
        ),
        spacing="4", width="100%",
    )
