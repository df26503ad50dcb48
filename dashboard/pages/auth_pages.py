"""/login and /register: centred cards with inline errors."""

from __future__ import annotations

import reflex as rx

from components.forms import form_alert, submit_button, text_field
from state.auth import AuthState


def _card(title: str, subtitle: str, *children: rx.Component) -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.hstack(rx.icon("file-stack", size=28, color=rx.color("accent", 9)),
                      rx.heading("Document Workflow Chain", size="5"), align="center", spacing="2"),
            rx.card(
                rx.vstack(rx.heading(title, size="6", as_="h1"),
                          rx.text(subtitle, size="2", color=rx.color("gray", 11)),
                          *children, spacing="4", width="100%"),
                size="4", width="100%",
            ),
            rx.color_mode.button(variant="ghost", aria_label="Toggle light and dark mode"),
            align="center", spacing="5", width="100%", max_width="420px", padding="16px",
        ),
        min_height="100vh", background=rx.color("gray", 2),
    )


def _field_error(name: str) -> rx.Var[str]:
    return AuthState.errors_by_field.get(name, "").to(str)


@rx.page(route="/login", title="Sign in · Document Workflow Chain", on_load=AuthState.open_login_page)
def login() -> rx.Component:
    return _card(
        "Sign in", "Welcome back. Sign in to build and run your document workflows.",
        form_alert(AuthState.form_notice, color="green", icon="circle-check"),
        form_alert(AuthState.form_error),
        rx.form(
            rx.vstack(
                text_field("Email", "email", _field_error("email"), type_="email", placeholder="you@example.com",
                           auto_focus=True, autocomplete="username",
                           default_value=AuthState.router.url.query_parameters.get("email", "")),
                text_field("Password", "password", _field_error("password"), type_="password",
                           autocomplete="current-password"),
                submit_button("Sign in", AuthState.submitting),
                spacing="4", width="100%",
            ),
            on_submit=AuthState.sign_in, width="100%",
        ),
        rx.text("New here? ", rx.link("Create an account", href="/register"), size="2"),
    )


@rx.page(route="/register", title="Create account · Document Workflow Chain", on_load=AuthState.open_login_page)
def register() -> rx.Component:
    return _card(
        "Create your account", "The first account becomes the workspace admin.",
        form_alert(AuthState.form_error),
        rx.form(
            rx.vstack(
                text_field("Name", "full_name", _field_error("full_name"), placeholder="Ada Lovelace",
                           auto_focus=True, autocomplete="name"),
                text_field("Email", "email", _field_error("email"), type_="email", placeholder="you@example.com",
                           autocomplete="email"),
                text_field("Password", "password", _field_error("password"), type_="password",
                           hint="At least 10 characters; a passphrase works well.", autocomplete="new-password"),
                submit_button("Create account", AuthState.submitting),
                spacing="4", width="100%",
            ),
            on_submit=AuthState.register, width="100%",
        ),
        rx.text("Already have an account? ", rx.link("Sign in", href="/login"), size="2"),
    )
