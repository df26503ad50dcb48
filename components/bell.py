"""The header's bell: the unread count, live, and the latest notifications in a popover."""

from __future__ import annotations

import reflex as rx

from state.inbox import InboxItem, InboxState

S = InboxState


def _latest_item(item: InboxItem) -> rx.Component:
    return rx.hstack(
        rx.box(width="8px", height="8px", min_width="8px", border_radius="9999px", margin_top="6px",
               background=rx.cond(item.read, "transparent", rx.color("accent", 9))),
        rx.vstack(rx.text(item.subject, size="2", weight=rx.cond(item.read, "regular", "bold"), trim="both"),
                  rx.text(item.created, size="1", color=rx.color("gray", 10)), spacing="1"),
        align="start", spacing="2", width="100%", role="listitem",
    )


def bell() -> rx.Component:
    """Starts the tab's inbox watcher when it mounts (only signed-in pages render it)."""
    count = rx.cond(S.unread > 0, rx.badge(S.unread_label, id="bell-count", color_scheme="red", variant="solid",
                                           radius="full", size="1", position="absolute", top="-6px",
                                           right="-8px", aria_hidden="true"))
    return rx.popover.root(
        rx.popover.trigger(rx.box(
            rx.icon_button(rx.icon("bell", size=18), variant="ghost",
                           aria_label=rx.cond(S.unread > 0, "Notifications, " + S.unread_label.to(str) + " unread",
                                              "Notifications, none unread")),
            count, position="relative", id="bell", custom_attrs={"data-live": S.live.to(str)},
            on_mount=S.watch_inbox, on_unmount=S.bell_unmounted,
        )),
        rx.popover.content(rx.vstack(
            rx.hstack(rx.text("Notifications", weight="bold", size="2"), rx.spacer(),
                      rx.cond(S.unread > 0, rx.button("Mark all read", size="1", variant="ghost",
                                                      on_click=S.mark_all_read)),
                      width="100%", align="center"),
            rx.cond(S.latest.length() > 0,
                    rx.vstack(rx.foreach(S.latest, _latest_item), spacing="3", width="100%", role="list",
                              aria_label="Latest notifications"),
                    rx.text("Nothing here yet.", size="2", color=rx.color("gray", 10))),
            rx.link("Open the inbox", href="/inbox", size="2"),
            spacing="3", width="100%",
        ), width="320px", align="end"),
    )
