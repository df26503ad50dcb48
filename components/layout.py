"""The app shell: sidebar, header with user menu and colour mode, and the protected-page decorator."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import reflex as rx

from components.bell import bell
from state.auth import AuthState


@dataclass(frozen=True)
class NavItem:
    label: str
    route: str
    icon: str


NAV_ITEMS: Sequence[NavItem] = (
    NavItem("Overview", "/", "layout-dashboard"),
    NavItem("Workflows", "/workflows", "workflow"),
    NavItem("Documents", "/documents", "file-text"),
    NavItem("AI Studio", "/ai", "sparkles"),
    NavItem("Inbox", "/inbox", "inbox"),
    NavItem("Analytics", "/analytics", "chart-line"),
    NavItem("Settings", "/settings", "settings"),
)


def _nav_link(item: NavItem) -> rx.Component:
    path = AuthState.router.url.path
    active = (path == item.route) if item.route == "/" else path.startswith(item.route)
    return rx.link(
        rx.hstack(rx.icon(item.icon, size=18), rx.text(item.label, size="3", weight="medium"),
                  align="center", spacing="3", width="100%", padding_x="12px", padding_y="8px",
                  border_radius="var(--radius-3)",
                  background=rx.cond(active, rx.color("accent", 4), "transparent"),
                  color=rx.cond(active, rx.color("accent", 11), rx.color("gray", 11)),
                  _hover={"background": rx.color("accent", 3)}),
        href=item.route, underline="none", width="100%",
        aria_current=rx.cond(active, "page", "false"),
    )


def sidebar() -> rx.Component:
    return rx.el.nav(rx.vstack(
        rx.hstack(rx.icon("file-stack", size=24, color=rx.color("accent", 9)),
                  rx.text("Workflow Chain", size="4", weight="bold", white_space="nowrap"), align="center", spacing="2",
                  padding_x="12px", padding_bottom="16px"),
        *[_nav_link(item) for item in NAV_ITEMS],
        rx.spacer(),
        rx.text("Document Workflow Chain", size="1", color=rx.color("gray", 9), padding_x="12px"),
        spacing="1", width="232px", min_width="232px", height="100vh", padding="16px",
        border_right=f"1px solid {rx.color('gray', 5)}", background=rx.color("gray", 2),
    ), aria_label="Main", position="sticky", top="0", display=["none", "none", "block"])


def user_menu() -> rx.Component:
    return rx.menu.root(
        rx.menu.trigger(
            rx.button(rx.avatar(fallback=AuthState.initials, size="2", radius="full"),
                      rx.text(AuthState.display_name, size="2", display=["none", "inline"]),
                      rx.icon("chevron-down", size=14), variant="ghost", aria_label="User menu",
                      id="user-menu"),
        ),
        rx.menu.content(
            rx.box(rx.text(AuthState.display_name, weight="bold", size="2"),
                   rx.text(AuthState.user_email, size="1", color=rx.color("gray", 10)),
                   rx.badge(AuthState.user_role, variant="soft", margin_top="4px"), padding="8px"),
            rx.menu.separator(),
            rx.menu.item(rx.hstack(rx.icon("settings", size=14), rx.text("Settings")),
                         on_click=rx.redirect("/settings")),
            rx.menu.item(rx.hstack(rx.icon("log-out", size=14), rx.text("Log out")),
                         on_click=AuthState.sign_out, color="red"),
            align="end",
        ),
    )


def mobile_nav() -> rx.Component:
    """The sidebar's links in a menu, for screens too narrow for the sidebar."""
    return rx.box(
        rx.menu.root(
            rx.menu.trigger(rx.icon_button(rx.icon("menu"), variant="ghost", aria_label="Open navigation")),
            rx.menu.content(*[rx.menu.item(rx.hstack(rx.icon(item.icon, size=14), rx.text(item.label)),
                                           on_click=rx.redirect(item.route)) for item in NAV_ITEMS]),
        ),
        display=["block", "block", "none"],
    )


def header(title: str) -> rx.Component:
    return rx.hstack(
        mobile_nav(),
        rx.heading(title, size="6", as_="h1"),
        rx.spacer(),
        rx.color_mode.button(variant="ghost", aria_label="Toggle light and dark mode"),
        bell(),
        user_menu(),
        align="center", width="100%", padding_x=["16px", "16px", "32px"], padding_y="14px",
        border_bottom=f"1px solid {rx.color('gray', 5)}", as_="header",
    )


def loading_screen() -> rx.Component:
    return rx.center(rx.spinner(size="3"), rx.text("Loading…", margin_left="8px"), height="100vh")


def shell(title: str, content: rx.Component) -> rx.Component:
    """The signed-in layout; nothing of the page renders until the user is known."""
    return rx.cond(
        AuthState.signed_in,
        rx.hstack(
            sidebar(),
            rx.vstack(header(title),
                      rx.el.main(content, padding=["16px", "16px", "32px"], width="100%", max_width="1200px"),
                      # min_width 0: a wide table scrolls in its own box instead of widening the page
                      spacing="0", width="100%", min_width="0", min_height="100vh"),
            spacing="0", width="100%", align="start",
        ),
        loading_screen(),
    )


def protected_page(route: str, title: str,
                   on_load: Sequence[rx.event.EventType[()]] = ()) -> Callable[[Callable[[], rx.Component]],
                                                                          Callable[[], rx.Component]]:
    """Register a page that needs a signed-in user, inside the app shell."""

    def decorator(render: Callable[[], rx.Component]) -> Callable[[], rx.Component]:
        def page() -> rx.Component:
            return shell(title, render())

        page.__name__ = render.__name__
        rx.page(route=route, title=f"{title} · Document Workflow Chain",
                on_load=[AuthState.require_login, *on_load])(page)
        return render

    return decorator
