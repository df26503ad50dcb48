"""/settings/services — every service's status, the run queue, and the cache with its hit ratio (admins)."""

from __future__ import annotations

import reflex as rx

from components.cards import empty_state, stat_card
from components.forms import form_alert
from components.layout import protected_page
from state.services import NamespaceRow, ServiceRow, ServicesState

S = ServicesState


def _service_row(row: ServiceRow) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.vstack(rx.text(row.name, weight="medium"),
                                           rx.text(row.kind, size="1", color=rx.color("gray", 10)), spacing="0")),
        rx.table.cell(rx.badge(rx.box(width="8px", height="8px", border_radius="9999px",
                                      background=rx.color(row.color, 9)),  # type: ignore[arg-type]
                               row.label, color_scheme=row.color, variant="soft",  # type: ignore[arg-type]
                               custom_attrs={"data-status": row.status})),
        rx.table.cell(row.latency),
        rx.table.cell(row.version),
        rx.table.cell(rx.vstack(
            rx.text(row.detail, size="2"),
            rx.cond(row.last_error != "", rx.text(row.last_error, size="1", color=rx.color("red", 11))),
            spacing="1")),
        align="center",
    )


def _services_table() -> rx.Component:
    return rx.box(rx.table.root(
        rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in
                                       ("Service", "Status", "Latency", "Version", "Detail / last error")])),
        rx.table.body(rx.foreach(S.services, _service_row)),
        variant="surface", width="100%",
    ), role="region", aria_label="Service status", width="100%")


def _queue() -> rx.Component:
    return rx.vstack(
        rx.heading("Run queue", size="4", as_="h2"),
        rx.grid(stat_card("Mode", S.queue_mode, "list-ordered"), stat_card("Waiting", S.queue_depth, "hourglass"),
                stat_card("Active jobs", S.queue_active, "activity"), stat_card("Workers", S.queue_workers, "cpu"),
                columns=rx.breakpoints(initial="2", md="4"), spacing="3", width="100%"),
        spacing="3", width="100%", role="region", aria_label="Run queue",
    )


def _namespace_row(row: NamespaceRow) -> rx.Component:
    return rx.table.row(rx.table.row_header_cell(row.namespace), rx.table.cell(row.hit_ratio),
                        rx.table.cell(row.hits), rx.table.cell(row.misses), rx.table.cell(row.entry_count),
                        rx.table.cell(row.size), rx.table.cell(row.p95))


def _cache_controls() -> rx.Component:
    return rx.hstack(
        rx.select(S.namespace_choices, value=S.clear_target, on_change=S.set_clear_target, size="2",
                  aria_label="Namespace to clear"),
        rx.alert_dialog.root(
            rx.alert_dialog.trigger(rx.button(rx.icon("trash-2", size=14), "Clear", color_scheme="red",
                                              variant="soft")),
            rx.alert_dialog.content(
                rx.alert_dialog.title("Clear the cache?"),
                rx.alert_dialog.description(rx.cond(S.clear_target == "all",
                                                    "Every cached entry will be removed.",
                                                    "Every entry of namespace " + S.clear_target + " will be removed."),
                                            " Callers will load fresh values on their next read."),
                rx.hstack(rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                          rx.alert_dialog.action(rx.button("Clear cache", color_scheme="red",
                                                           on_click=S.clear_cache)),
                          spacing="3", justify="end", margin_top="16px"),
            ),
        ),
        rx.button(rx.icon("sparkles", size=14), "Optimize", variant="soft", on_click=S.optimize_cache),
        spacing="2", align="center",
    )


def _cache() -> rx.Component:
    figure = rx.foreach(S.cache_figures, lambda item: rx.vstack(
        rx.text(item[0], size="1", color=rx.color("gray", 11)), rx.text(item[1], size="4", weight="bold"),
        spacing="0"))
    return rx.vstack(
        rx.hstack(rx.heading("Cache", size="4", as_="h2"), rx.badge(S.cache_backend, variant="outline"),
                  rx.badge(S.cache_status, color_scheme=rx.cond(S.cache_status == "ok", "green", "amber")),
                  rx.spacer(), _cache_controls(), width="100%", align="center", wrap="wrap"),
        rx.card(rx.grid(figure, columns=rx.breakpoints(initial="2", sm="5"), spacing="4", width="100%"),
                width="100%"),
        rx.card(rx.vstack(
            rx.hstack(rx.text("Hit ratio over time", weight="medium"), rx.spacer(),
                      rx.text("this process, sampled every 10 s", size="1", color=rx.color("gray", 10)),
                      width="100%"),
            rx.box(rx.plotly.strict(data=S.chart, config={"displayModeBar": False}, use_resize_handler=True,
                             width="100%"), width="100%", id="hit-ratio-chart"),
            width="100%"), width="100%"),
        rx.cond(S.namespaces.length() > 0,
                rx.box(rx.table.root(
                    rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in (
                        "Namespace", "Hit ratio", "Hits", "Misses", "Entries", "Size", "Get p95")])),
                    rx.table.body(rx.foreach(S.namespaces, _namespace_row)),
                    variant="surface", width="100%"), role="region", aria_label="Cache namespaces", width="100%"),
                empty_state("database-zap", "The cache is empty",
                            "Namespaces appear here once something (AI answers, node outputs) is cached.")),
        spacing="3", width="100%",
    )


def _report() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.badge(S.overall_label, color_scheme=S.overall_color, size="3",  # type: ignore[arg-type]
                     id="services-overall"),
            rx.text("checked ", S.checked_at, " · refreshes every 10 s", size="2", color=rx.color("gray", 11)),
            rx.spacer(),
            rx.button(rx.cond(S.loading, rx.spinner(size="1"), rx.icon("refresh-cw", size=14)), "Refresh",
                      variant="soft", on_click=S.refresh, disabled=S.loading),
            width="100%", align="center"),
        form_alert(S.services_error),
        form_alert(S.services_notice, color="green", icon="circle-check"),
        _services_table(), _queue(), _cache(),
        spacing="5", width="100%", on_mount=S.watch_services,
    )


@protected_page(route="/settings/services", title="Services", on_load=[S.load])
def services() -> rx.Component:
    return rx.vstack(
        rx.link(rx.hstack(rx.icon("arrow-left", size=14), rx.text("Settings"), align="center", spacing="1"),
                href="/settings", size="2"),
        rx.cond(
            S.refused != "",
            rx.callout(S.refused, icon="shield-alert", color_scheme="amber", width="100%", role="alert"),
            rx.cond(S.loaded, _report(),
                    rx.center(rx.spinner(size="3"), rx.text("Checking every service…", margin_left="8px"),
                              padding="48px", width="100%")),
        ),
        spacing="4", width="100%",
    )
