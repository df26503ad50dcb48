"""The composition root: build the Reflex app, mount the API, add the pages."""

import reflex as rx

from dashboard.api.app import create_api


def index() -> rx.Component:
    return rx.center(rx.heading("Document Workflow Chain"), height="100vh")


app = rx.App(api_transformer=create_api())
app.add_page(index, route="/", title="Document Workflow Chain")
