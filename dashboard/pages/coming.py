"""Sections whose services have not landed yet: each says plainly what it will hold."""

from __future__ import annotations

import reflex as rx

from components.cards import empty_state
from components.layout import protected_page


@protected_page(route="/workflows", title="Workflows")
def workflows() -> rx.Component:
    return empty_state("workflow", "No workflows yet",
                       "The workflow builder and engine are being built. Workflows you create will be listed here "
                       "with their last run and success rate.")


@protected_page(route="/ai", title="AI Studio")
def ai_studio() -> rx.Component:
    return empty_state("sparkles", "AI Studio is not available yet",
                       "Generation, analysis and provider settings arrive with the AI service.")


@protected_page(route="/inbox", title="Inbox")
def inbox() -> rx.Component:
    return empty_state("inbox", "Your inbox is empty",
                       "Notifications from your workflow runs will appear here once notifications are enabled.")


@protected_page(route="/analytics", title="Analytics")
def analytics() -> rx.Component:
    return empty_state("chart-line", "No data to chart yet",
                       "Run, AI-usage and delivery dashboards fill in as workflows run. Nothing is shown until "
                       "real data exists.")
