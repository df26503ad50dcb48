"""/settings/audit — the admin's audit log: filter by actor, action, target and dates; page through; export CSV."""

from __future__ import annotations

import reflex as rx

from components.cards import empty_state
from components.forms import form_alert
from components.layout import protected_page
from components.pager import pager
from state.audit import AuditRow, AuditState

COLUMNS = ("Time (UTC)", "Actor", "Action", "Target", "IP", "Request id", "Details")


def _row(row: AuditRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.time, white_space="nowrap"),
        rx.table.cell(row.actor),
        rx.table.cell(rx.badge(row.action, variant="soft")),
        rx.table.cell(rx.code(row.target)),
        rx.table.cell(row.ip),
        rx.table.cell(rx.text(row.request_id, size="1", font_family="monospace")),
        rx.table.cell(rx.text(row.details, size="1", color=rx.color("gray", 11))),
    )


def _filters() -> rx.Component:
    return rx.hstack(
        rx.input(placeholder="Actor email or id", value=AuditState.actor_filter, debounce_timeout=400,
                 on_change=lambda v: AuditState.set_filter("actor_filter", v), aria_label="Actor", width="200px"),
        rx.select(AuditState.actions, value=AuditState.action_filter, aria_label="Action",
                  on_change=lambda v: AuditState.set_filter("action_filter", v)),
        rx.input(placeholder="Target, e.g. workflow:12", value=AuditState.target_filter, debounce_timeout=400,
                 on_change=lambda v: AuditState.set_filter("target_filter", v), aria_label="Target", width="200px"),
        rx.input(type="date", value=AuditState.from_day, aria_label="From day",
                 on_change=lambda v: AuditState.set_filter("from_day", v)),
        rx.input(type="date", value=AuditState.to_day, aria_label="To day",
                 on_change=lambda v: AuditState.set_filter("to_day", v)),
        rx.button("Clear", variant="ghost", on_click=AuditState.clear_filters),
        rx.spacer(),
        rx.button(rx.icon("download", size=14), "Export CSV", variant="soft", on_click=AuditState.export_csv),
        width="100%", align="center", wrap="wrap",
    )


def _log() -> rx.Component:
    return rx.vstack(
        _filters(),
        form_alert(AuditState.audit_error),
        rx.cond(
            AuditState.rows.length() > 0,
            rx.box(rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in COLUMNS])),
                rx.table.body(rx.foreach(AuditState.rows, _row)),
                variant="surface", size="1", width="100%"), overflow_x="auto", width="100%"),
            rx.cond(AuditState.loading, rx.spinner(),
                    empty_state("scroll-text", "No matching entries", "Change the filters, or act first.")),
        ),
        pager(AuditState),
        spacing="3", width="100%",
    )


@protected_page(route="/settings/audit", title="Audit log", on_load=[AuditState.load])
def audit() -> rx.Component:
    return rx.cond(AuditState.allowed, _log(),
                   rx.callout("Only admins read the audit log.", icon="lock", color_scheme="amber", width="100%"))
