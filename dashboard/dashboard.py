"""The composition root: build the Reflex app, mount the API, register the pages."""

import reflex as rx

from dashboard.api.app import create_api
from dashboard.lifespan import flush_analytics_on_shutdown, settle_heap_at_start
from dashboard.pages import (  # noqa: F401  (importing registers pages)
    ai_studio,
    analytics,
    audit,
    auth_pages,
    builder,
    documents,
    inbox,
    overview,
    runs,
    services,
    settings,
    system,
    workflows,
)
from services.observability.logging import configure_logging

configure_logging()
app = rx.App(api_transformer=create_api())
app.register_lifespan_task(flush_analytics_on_shutdown)
app.register_lifespan_task(settle_heap_at_start)
