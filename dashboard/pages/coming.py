"""Sections whose services have not landed yet: each says plainly what it will hold."""

from __future__ import annotations

import reflex as rx

from components.cards import empty_state
from components.layout import protected_page


@protected_page(route="/analytics", title="Analytics")
def analytics() -> rx.Component:
    return empty_state("chart-line", "No data to chart yet",
                       "Run, AI-usage and delivery dashboards fill in as workflows run. Nothing is shown until "
                       "real data exists.")
