"""/ — the signed-in account and the figures that exist so far."""

from __future__ import annotations

import reflex as rx

from components.cards import empty_state, stat_card
from components.layout import protected_page
from state.overview import ActivityRow, OverviewState


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


@protected_page(route="/", title="Overview", on_load=[OverviewState.load])
def overview() -> rx.Component:
    return rx.vstack(
        _account_card(),
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
