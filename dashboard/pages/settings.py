"""/settings — your account, and (for admins) the users of the workspace and their roles."""

from __future__ import annotations

import reflex as rx

from components.cards import empty_state
from components.forms import form_alert
from components.layout import protected_page
from components.pager import pager
from state.users import UserRow, UsersState

ROLES = ["admin", "editor", "viewer"]


def _user_row(row: UserRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.vstack(rx.text(row.email, weight="medium"),
                                rx.text(row.full_name, size="1", color=rx.color("gray", 10)), spacing="0")),
        rx.table.cell(rx.select.root(
            rx.select.trigger(aria_label="Role"),
            rx.select.content(*[rx.select.item(role, value=role) for role in ROLES]),
            value=row.role, size="1", on_change=lambda role: UsersState.change_role(row.id, role))),
        rx.table.cell(rx.switch(checked=row.is_active, aria_label="Active",
                                on_change=lambda active: UsersState.set_active(row.id, active))),
        rx.table.cell(row.created),
        rx.table.cell(row.last_login),
        align="center",
    )


def _users_admin() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.heading("Users", size="4", as_="h2"), rx.spacer(),
            rx.input(placeholder="Search by email or name", value=UsersState.search, on_change=UsersState.set_search,
                     debounce_timeout=300, width="280px", aria_label="Search users"),
            width="100%", align="center",
        ),
        form_alert(UsersState.users_error),
        form_alert(UsersState.users_notice, color="green", icon="circle-check"),
        rx.cond(
            UsersState.rows.length() > 0,
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in
                                               ("User", "Role", "Active", "Joined", "Last sign-in")])),
                rx.table.body(rx.foreach(UsersState.rows, _user_row)),
                variant="surface", width="100%",
            ),
            rx.cond(UsersState.loading, rx.spinner(),
                    empty_state("users", "No matching users", "Try another search.")),
        ),
        pager(UsersState),
        spacing="3", width="100%",
    )


def _services_link() -> rx.Component:
    return rx.link(rx.card(rx.hstack(
        rx.icon("server", size=20, color=rx.color("accent", 10)),
        rx.vstack(rx.text("Services & cache", weight="bold"),
                  rx.text("Database, Redis, queue and workers, AI providers, notification channels, and the cache.",
                          size="2", color=rx.color("gray", 11)), spacing="0"),
        rx.spacer(), rx.icon("chevron-right", size=16), align="center", width="100%"), width="100%"),
        href="/settings/services", underline="none", width="100%")


def _admin_links() -> rx.Component:
    return rx.hstack(
        rx.link(rx.button(rx.icon("scroll-text", size=14), "Audit log", variant="soft"), href="/settings/audit"),
        rx.link(rx.button(rx.icon("activity", size=14), "System", variant="soft"), href="/settings/system"),
        spacing="3",
    )


@protected_page(route="/settings", title="Settings", on_load=[UsersState.load])
def settings() -> rx.Component:
    return rx.vstack(
        rx.card(
            rx.vstack(rx.heading("Your account", size="4", as_="h2"),
                      rx.data_list.root(
                          rx.data_list.item(rx.data_list.label("Email"), rx.data_list.value(UsersState.user_email)),
                          rx.data_list.item(rx.data_list.label("Name"), rx.data_list.value(UsersState.user_name)),
                          rx.data_list.item(rx.data_list.label("Role"),
                                            rx.data_list.value(rx.badge(UsersState.user_role)))),
                      spacing="3"),
            width="100%",
        ),
        rx.cond(UsersState.can_manage_users, _services_link()),
        rx.cond(UsersState.can_manage_users, _admin_links()),
        rx.cond(UsersState.can_manage_users, _users_admin(),
                rx.callout("Only admins manage users and roles. Ask an admin if you need more access.",
                           icon="info", width="100%")),
        spacing="5", width="100%",
    )
