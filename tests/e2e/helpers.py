"""What several browser tests share: locating canvas nodes, and setting up workflows through the API."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from playwright.sync_api import Locator, Page

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, sign_in

NOTES_TEMPLATE = "# Notes\n\nTopic: {{ in.topic }}\nEnd."
NOTES_GRAPH: dict[str, Any] = {
    "nodes": [{"id": "in", "type": "input", "config": {"fields": ["topic"]}, "position": {"x": 0, "y": 0}},
              {"id": "draft", "type": "template", "config": {"template": NOTES_TEMPLATE},
               "position": {"x": 260, "y": 0}},
              {"id": "out", "type": "output", "config": {"title": "On {{ in.topic }}"},
               "position": {"x": 520, "y": 0}}],
    "edges": [{"source": "in", "target": "draft"}, {"source": "draft", "target": "out"}]}


def node(page: Page, node_id: str) -> Locator:
    return page.locator(f'[data-testid="flow-node"][data-node-id="{node_id}"]')


def drag(page: Page, source: Locator, target: Locator) -> None:
    """Press on ``source``, move in steps (React Flow starts a connection on movement) and release on ``target``."""
    start, end = source.bounding_box(), target.bounding_box()
    assert start is not None and end is not None
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=12)
    page.mouse.up()


def admin_api(app_url: str) -> httpx.Client:
    """An API client signed in as the e2e admin."""
    pair = httpx.post(f"{app_url}/api/v3/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
                      timeout=30)
    assert pair.status_code == 200, pair.text
    return httpx.Client(base_url=f"{app_url}/api/v3", timeout=60,
                        headers={"Authorization": f"Bearer {pair.json()['access_token']}"})


def create_workflow(api: httpx.Client, name: str, graph: dict[str, Any]) -> int:
    created = api.post("/workflows", json={"name": name, "graph": graph})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def open_in_builder(page: Page, app_url: str, name: str, graph: dict[str, Any]) -> int:
    """Save ``graph`` as a new workflow (its name made unique), sign in as the admin and open it in the builder."""
    with admin_api(app_url) as api:
        workflow_id = create_workflow(api, f"{name} {uuid.uuid4().hex[:6]}", graph)
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(f"/workflows/{workflow_id}")
    return workflow_id
