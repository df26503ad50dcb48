"""The workflow builder in real Chromium: a template becomes a workflow; a node is dragged in from the palette,
wired by dragging a handle, configured in the side panel and saved as version 2; a run's badges turn green live
and a node's output opens; a viewer gets a read-only canvas; the canvas follows the light or dark theme."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, artifacts_dir, sign_in
from tests.e2e.helpers import drag

pytestmark = pytest.mark.e2e
PASSWORD = "amber-falcon-lantern-42"
RUN_SECONDS = 60_000


def _node(page: Page, node_id: str) -> Locator:
    return page.locator(f'[data-testid="flow-node"][data-node-id="{node_id}"]')


def _create_from_template(page: Page, template: str) -> str:
    page.goto("/workflows")
    page.get_by_role("button", name="New workflow").click()
    page.get_by_role("button", name=f"Use template {template}").click()
    page.wait_for_url(re.compile(r"/workflows/\d+$"))
    expect(page.locator("#builder-version")).to_have_text("version 1")
    return page.url.rsplit("/", 1)[-1]


@pytest.fixture
def blog_workflow(page: Page) -> str:
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    return _create_from_template(page, "Blog post from outline")


def test_build_save_run_and_read_the_output(page: Page, blog_workflow: str) -> None:
    expect(page.locator('[data-testid="flow-node"]')).to_have_count(4)

    # Drag a Template node from the palette onto the canvas: it is added, selected and flagged (no template yet).
    page.locator('[data-palette-type="template"]').drag_to(page.locator(".react-flow__pane"),
                                                            target_position={"x": 120, "y": 40})
    added = _node(page, "template_1")
    expect(added).to_be_visible()
    expect(added).to_have_attribute("data-invalid", "true")
    expect(added.get_by_test_id("node-errors")).to_contain_text("template")
    expect(page.get_by_text("unsaved changes")).to_be_visible()

    # Wire polish → template_1 by dragging from polish's output handle to the new node's input handle.
    drag(page, _node(page, "polish").get_by_test_id("handle-out-out"), added.get_by_test_id("handle-in"))
    expect(page.locator('.react-flow__edge[data-id="polish:out->template_1"]')).to_have_count(1)

    # Configure it in the side panel: the prompt hint lists what is upstream (and the input's fields).
    added.click()
    panel = page.get_by_role("region", name="Node settings")
    expect(panel).to_contain_text("{{ polish.content }}")
    expect(panel).to_contain_text("{{ brief.topic }}")
    panel.locator("#field-template").fill("Final cut:\n{{ polish.content }}")
    panel.locator("#field-template").press("Tab")
    expect(added).to_have_attribute("data-invalid", "false")

    page.get_by_role("button", name="Save").click()
    expect(page.locator("#builder-version")).to_have_text("version 2")
    expect(page.get_by_role("region", name="Version history")).to_contain_text("v2")
    expect(page.locator("#save-status")).to_have_text("saved as version 2")

    # Run it: the dialog asks for the input node's fields; badges go green node by node.
    page.get_by_role("button", name="Run").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("topic").fill("tidal power")
    dialog.get_by_label("outline").fill("- why it matters\n- how it works")
    dialog.get_by_role("button", name="Start run").click()
    for node_id in ("brief", "draft", "polish", "template_1", "post"):
        expect(_node(page, node_id).get_by_test_id("node-status")).to_have_attribute(
            "data-status", "succeeded", timeout=RUN_SECONDS)
    expect(page.locator("#run-status")).to_contain_text("succeeded")
    page.screenshot(path=str(artifacts_dir() / "builder-after-run.png"), full_page=True)

    # A node's output document, tokens, cost and attempts open in the side panel.
    _node(page, "template_1").click()
    output = page.get_by_role("region", name="Node output")
    expect(output).to_contain_text("Final cut:")
    expect(output).to_contain_text("attempts 1")
    expect(output).to_contain_text("Tokens")
    expect(output.get_by_role("region", name="Step log")).to_contain_text("attempt 1 succeeded in")
    _node(page, "draft").click()  # an AI node's log names the provider and model it used
    expect(output.get_by_role("region", name="Step log")).to_contain_text("builtin model")


def test_viewer_gets_a_read_only_canvas(page: Page, blog_workflow: str, app_url: str,
                                        request: pytest.FixtureRequest) -> None:
    email = f"viewer-{uuid.uuid4().hex[:8]}@example.com"
    registered = httpx.post(f"{app_url}/api/v3/auth/register", json={"email": email, "password": PASSWORD},
                            timeout=30)
    assert registered.status_code == 201 and registered.json()["role"] == "viewer", registered.text
    # A browser of the viewer's own: the admin's tab stays signed in (its session lives server-side).
    assert page.context.browser is not None
    viewer_context = page.context.browser.new_context(base_url=app_url, viewport={"width": 1280, "height": 800})
    viewer_context.set_default_timeout(20_000)
    request.addfinalizer(viewer_context.close)
    page = viewer_context.new_page()
    sign_in(page, email, PASSWORD)
    page.goto(f"/workflows/{blog_workflow}")
    expect(page.locator('[data-testid="flow-canvas"]')).to_have_attribute("data-read-only", "true")
    expect(page.locator('[data-testid="flow-node"]')).to_have_count(4)
    expect(page.get_by_role("region", name="Node palette")).to_have_count(0)
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
    expect(page.get_by_role("button", name="Run")).to_have_count(0)
    _node(page, "draft").click()
    expect(page.get_by_role("region", name="Node settings").locator("#field-prompt")).to_be_disabled()


def test_the_canvas_follows_the_apps_light_or_dark_theme(page: Page, blog_workflow: str) -> None:
    canvas = page.locator(".react-flow")
    expect(canvas).to_have_class(re.compile(r"\blight\b"))
    page.emulate_media(color_scheme="dark")  # the app follows the system's scheme until a user picks one
    expect(canvas).to_have_class(re.compile(r"\bdark\b"))
    controls = page.locator(".react-flow__controls-button").first
    assert controls.evaluate("b => getComputedStyle(b).backgroundColor") != "rgb(255, 255, 255)"
    page.screenshot(path=str(artifacts_dir() / "builder-dark.png"))
