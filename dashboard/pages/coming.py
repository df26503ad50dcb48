"""Sections whose services have not landed yet: each says plainly what it will hold."""

from __future__ import annotations

import reflex as rx

from components.cards import empty_state
from components.layout import protected_page
from state.auth import AuthState


@protected_page(route="/workflows", title="Workflows")
def workflows() -> rx.Component:
    created = AuthState.router.url.query_parameters.get("created", "").to(str)
    return rx.vstack(
        # AI Studio's "Save as workflow node" lands here until the builder exists.
        rx.cond(created != "", rx.callout(
            rx.text("Workflow ", created, " was saved. Until the builder arrives, run or edit it through the API at "
                    "/api/v3/workflows/", created, "."), icon="circle-check", color_scheme="green", role="status",
            width="100%")),
        empty_state("workflow", "The workflow list is on its way",
                    "The workflow builder and engine are being built. Workflows you create will be listed here "
                    "with their last run and success rate."),
        spacing="4", width="100%",
    )


@protected_page(route="/inbox", title="Inbox")
def inbox() -> rx.Component:
    return empty_state("inbox", "Your inbox is empty",
                       "Notifications from your workflow runs will appear here once notifications are enabled.")


@protected_page(route="/analytics", title="Analytics")
def analytics() -> rx.Component:
    return empty_state("chart-line", "No data to chart yet",
                       "Run, AI-usage and delivery dashboards fill in as workflows run. Nothing is shown until "
                       "real data exists.")
