"""The composition root: build the Reflex app, mount the API, register the pages."""

import reflex as rx

from dashboard.api.app import create_api
from dashboard.pages import (  # noqa: F401  (importing registers pages)
    ai_studio,
    audit,
    auth_pages,
    builder,
    coming,
    inbox,
    overview,
    settings,
    system,
    workflows,
)
from services.observability.logging import configure_logging

configure_logging()
app = rx.App(api_transformer=create_api())
