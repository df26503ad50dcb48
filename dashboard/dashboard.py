"""The composition root: build the Reflex app, mount the API, register the pages."""

import reflex as rx

from components.page_error import page_error_boundary
from components.unexpected_error import unexpected_error_banner
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
from state.unexpected_error import page_event_failed

configure_logging()
app = rx.App(api_transformer=create_api(), backend_exception_handler=page_event_failed,
             # Over every page, beside Reflex's own overlay (connection banner, toaster); and our error
             # page in place of Reflex's (its key replaces Reflex's wrap).
             extra_app_wraps={(6, "UnexpectedErrorBanner"):
                              lambda stateful: rx.fragment(unexpected_error_banner()) if stateful else None,
                              (55, "ErrorBoundary"): page_error_boundary})
app.register_lifespan_task(flush_analytics_on_shutdown)
app.register_lifespan_task(settle_heap_at_start)
