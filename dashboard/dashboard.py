"""The composition root: build the Reflex app, mount the API, register the pages."""

import reflex as rx

from dashboard.api.app import create_api
<<<<<<< HEAD
from dashboard.lifespan import flush_analytics_on_shutdown
from dashboard.pages import (  # noqa: F401  (importing registers pages)
    ai_studio,
    analytics,
    auth_pages,
    builder,
    inbox,
    overview,
    services,
    settings,
    workflows,
)
=======
from dashboard.pages import ai_studio, auth_pages, builder, coming, inbox, overview, runs, settings, workflows  # noqa: F401  (importing registers pages)
>>>>>>> builder

app = rx.App(api_transformer=create_api())
app.register_lifespan_task(flush_analytics_on_shutdown)
