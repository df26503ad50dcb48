"""Reflex configuration; every value comes from ``services.settings``."""

import reflex as rx

from services.settings import get_settings

_settings = get_settings()

config = rx.Config(
    app_name="dashboard",
    show_built_with_reflex=False,
    telemetry_enabled=False,
    redis_url=_settings.redis_url or None,
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(appearance="inherit", accent_color="indigo", gray_color="slate", radius="large"),
        ),
        rx.plugins.SitemapPlugin(),
    ],
)
