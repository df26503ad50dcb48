"""/inbox — the notification center: your inbox, what was sent (admins), templates (editors), preferences."""

from __future__ import annotations

import reflex as rx

from components.ai import hint_text
from components.cards import empty_state
from components.forms import form_alert
from components.layout import protected_page
from components.notification_settings import preferences_tab, templates_tab
from state.inbox import ALL, InboxItem, InboxState
from state.notification_preferences import PreferencesState
from state.notification_templates import TemplatesState
from state.notifications_sent import STATUSES, SentRow, SentState

S = InboxState


def _pager(total: rx.Var[int], page: rx.Var[int], pages: rx.Var[int], noun: str, on_previous: rx.EventHandler,
           on_next: rx.EventHandler, has_previous: rx.Var[bool], has_next: rx.Var[bool]) -> rx.Component:
    return rx.hstack(
        rx.text(total, f" {noun} · page ", page + 1, " of ", pages, size="2", color=rx.color("gray", 11)),
        rx.spacer(),
        rx.button("Previous", variant="soft", size="1", disabled=~has_previous, on_click=on_previous),
        rx.button("Next", variant="soft", size="1", disabled=~has_next, on_click=on_next),
        width="100%", align="center",
    )


def _inbox_item(item: InboxItem) -> rx.Component:
    return rx.hstack(
        rx.box(width="10px", height="10px", min_width="10px", border_radius="9999px", margin_top="6px",
               background=rx.cond(item.read, "transparent", rx.color("accent", 9))),
        rx.vstack(
            rx.hstack(rx.text(item.subject, size="3", weight=rx.cond(item.read, "regular", "bold")),
                      rx.badge(item.category, variant="soft", size="1"),
                      rx.cond((item.priority == "high") | (item.priority == "urgent"),
                              rx.badge(item.priority, color_scheme="red", size="1")),
                      align="center", spacing="2", wrap="wrap"),
            rx.text(item.body, size="2", color=rx.color("gray", 11), white_space="pre-wrap",
                    max_height="4.5em", overflow="hidden"),
            rx.hstack(rx.text(item.created, size="1", color=rx.color("gray", 10)),
                      rx.cond(item.run_id != "",
                              rx.link("from run " + item.run_id, rx.cond(item.node_id != "", " · node " + item.node_id,
                                                                         ""),
                                      href="/runs/" + item.run_id, size="1")),
                      spacing="3"),
            spacing="1", width="100%",
        ),
        rx.hstack(
            rx.cond(item.read,
                    rx.button("Mark unread", size="1", variant="soft", on_click=S.mark_unread(item.id)),
                    rx.button("Mark read", size="1", variant="soft", on_click=S.mark_read(item.id))),
            rx.cond(~item.archived, rx.button("Archive", size="1", variant="ghost", on_click=S.archive(item.id))),
            spacing="2",
        ),
        role="listitem", aria_label=item.subject, custom_attrs={"data-unread": (~item.read).to(str)},
        width="100%", align="start", padding="12px", border_radius="var(--radius-3)",
        border_left=rx.cond(item.read, f"3px solid {rx.color('gray', 4)}", f"3px solid {rx.color('accent', 9)}"),
        background=rx.cond(item.read, "transparent", rx.color("accent", 2)),
    )


def _inbox_filters() -> rx.Component:
    return rx.hstack(
        rx.segmented_control.root(rx.segmented_control.item("Inbox", value="inbox"),
                                  rx.segmented_control.item("Archive", value="archive"),
                                  value=rx.cond(S.archived, "archive", "inbox"), on_change=S.show_archive,
                                  aria_label="Inbox or archive"),
        rx.select.root(rx.select.trigger(aria_label="Category"),
                       rx.select.content(rx.select.item("All categories", value=ALL),
                                         rx.foreach(S.categories, lambda c: rx.select.item(c, value=c))),
                       value=S.category, on_change=S.set_category),
        rx.el.label(rx.hstack(rx.switch(checked=S.unread_only, on_change=S.set_unread_only),
                                rx.text("Unread only", size="2"), align="center", spacing="2")),
        rx.spacer(),
        rx.button(rx.icon("check-check", size=14), "Mark all read", variant="soft", size="2",
                  on_click=S.mark_all_read, disabled=S.unread == 0),
        width="100%", align="center", wrap="wrap", spacing="3",
    )


def _inbox_tab() -> rx.Component:
    return rx.vstack(
        _inbox_filters(),
        form_alert(S.inbox_error),
        form_alert(S.inbox_notice, color="green", icon="circle-check"),
        rx.cond(
            S.items.length() > 0,
            rx.vstack(rx.foreach(S.items, _inbox_item), spacing="2", width="100%", role="list",
                      aria_label="Notifications"),
            rx.cond(S.loaded, rx.cond(S.archived | S.unread_only | (S.category != ALL),
                                      empty_state("inbox", "Nothing matches", "Try another filter."),
                                      empty_state("inbox", "Your inbox is empty",
                                                  "Notifications sent to you by workflows and teammates appear "
                                                  "here as they arrive.")),
                    rx.spinner()),
        ),
        _pager(S.total, S.page, S.page_count, "notifications", S.go_to_page(-1), S.go_to_page(1),
               S.has_previous, S.has_next),
        spacing="3", width="100%",
    )


def _status_badge(status: rx.Var[str]) -> rx.Component:
    color = rx.match(status, ("sent", "green"), ("failed", "red"), ("dead", "red"), ("sending", "blue"),
                     ("digested", "violet"), "gray")
    return rx.badge(status, color_scheme=color, variant="soft")


def _sent_row(row: SentRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.created, white_space="nowrap"),
        rx.table.cell(rx.badge(row.channel, variant="outline")),
        rx.table.cell(rx.text(row.recipient, size="2", max_width="180px", overflow="hidden",
                              text_overflow="ellipsis", white_space="nowrap")),
        rx.table.cell(rx.text(row.subject, size="2", max_width="200px", overflow="hidden", text_overflow="ellipsis",
                              white_space="nowrap")),
        rx.table.cell(_status_badge(row.status)),
        rx.table.cell(rx.cond(row.run_id != "",
                              rx.vstack(
                                  rx.link(rx.text("run ", row.run_id, size="1", max_width="160px", overflow="hidden",
                                                  text_overflow="ellipsis", white_space="nowrap"),
                                          href="/runs/" + row.run_id, title=row.run_id),
                                  rx.cond(row.node_id != "", rx.text("node " + row.node_id, size="1")),
                                  spacing="0"),
                              rx.text("API or system", size="1", color=rx.color("gray", 10)))),
        rx.table.cell(rx.cond(row.retryable, rx.button("Retry", size="1", variant="soft",
                                                       on_click=SentState.retry(row.id)))),
        align="center",
    )


def _sent_tab() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.select.root(rx.select.trigger(aria_label="Channel"),
                           rx.select.content(rx.select.item("All channels", value=ALL),
                                             rx.foreach(SentState.channels, lambda c: rx.select.item(c, value=c))),
                           value=SentState.sent_channel, on_change=SentState.set_sent_channel),
            rx.select.root(rx.select.trigger(aria_label="Status"),
                           rx.select.content(rx.select.item("Any status", value=ALL),
                                             *[rx.select.item(s, value=s) for s in STATUSES]),
                           value=SentState.sent_status, on_change=SentState.set_sent_status),
            hint_text("Every notification sent in this workspace, with the state of its delivery."),
            spacing="3", align="center", wrap="wrap", width="100%",
        ),
        form_alert(SentState.sent_error),
        form_alert(SentState.sent_notice, color="green", icon="circle-check"),
        rx.cond(
            SentState.sent.length() > 0,
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in
                                               ("When (UTC)", "Channel", "Recipient", "Subject", "Delivery",
                                                "Sent by", "")])),
                rx.table.body(rx.foreach(SentState.sent, _sent_row)),
                variant="surface", width="100%",
            ),
            empty_state("send", "Nothing sent yet", "Notifications sent by workflows or through the API are "
                                                    "listed here with their delivery status."),
        ),
        _pager(SentState.sent_total, SentState.sent_page, SentState.sent_page_count, "sent",
               SentState.go_to_sent_page(-1), SentState.go_to_sent_page(1), SentState.sent_page > 0,
               (SentState.sent_page + 1) < SentState.sent_page_count),
        spacing="3", width="100%",
    )


@protected_page(route="/inbox", title="Inbox",
                on_load=[S.load, SentState.load, TemplatesState.load, PreferencesState.load])
def inbox() -> rx.Component:
    return rx.tabs.root(
        rx.tabs.list(
            rx.tabs.trigger(rx.hstack(rx.text("Inbox"), rx.cond(S.unread > 0, rx.badge(S.unread_label, size="1")),
                                      spacing="2", align="center"), value="inbox"),
            rx.cond(SentState.can_see_sent, rx.tabs.trigger("Sent", value="sent")),
            rx.cond(TemplatesState.can_edit_templates, rx.tabs.trigger("Templates", value="templates")),
            rx.tabs.trigger("Preferences", value="preferences"),
        ),
        rx.tabs.content(_inbox_tab(), value="inbox", padding_top="16px"),
        rx.tabs.content(rx.cond(SentState.can_see_sent, _sent_tab()), value="sent", padding_top="16px"),
        rx.tabs.content(rx.cond(TemplatesState.can_edit_templates, templates_tab()), value="templates",
                        padding_top="16px"),
        rx.tabs.content(preferences_tab(), value="preferences", padding_top="16px"),
        default_value="inbox", width="100%",
    )

