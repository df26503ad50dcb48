"""The composition root: build the Reflex app, mount the API, register the pages."""

import reflex as rx

from dashboard.api.app import create_api
from dashboard.pages import ai_studio, auth_pages, builder, coming, documents, inbox, overview, settings, workflows  # noqa: F401  (importing registers pages)

app = rx.App(api_transformer=create_api())
