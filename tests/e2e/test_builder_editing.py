"""Editing in the builder with the keyboard: undo and redo (buttons and ctrl+z / ctrl+shift+z / ctrl+y),
ctrl+s saving a version, and autosave storing a version by itself once the graph is left alone."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, sign_in
from tests.e2e.helpers import NOTES_GRAPH, admin_api, create_workflow, node

pytestmark = pytest.mark.e2e
AUTOSAVE_WAIT_MS = 60_000


@pytest.fixture
def notes_workflow(page: Page, app_url: str) -> str:
    with admin_api(app_url) as api:
        workflow_id = create_workflow(api, f"Editing {uuid.uuid4().hex[:6]}", NOTES_GRAPH)
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(f"/workflows/{workflow_id}")
    expect(page.locator('[data-testid="flow-node"]')).to_have_count(3)
    return str(workflow_id)


def test_undo_redo_and_ctrl_s(page: Page, notes_workflow: str) -> None:
    status = page.locator("#save-status")
    expect(page.get_by_role("button", name="Undo")).to_be_disabled()

    # Two edits: a node added from the palette, then the edge into it removed by undo.
    page.get_by_role("button", name="Add Template").click()
    expect(node(page, "template_1")).to_be_visible()
    expect(status).to_contain_text("unsaved changes")
    page.get_by_role("button", name="Add Merge").click()
    expect(node(page, "merge_1")).to_be_visible()

    page.locator(".react-flow__pane").click(position={"x": 30, "y": 30})  # focus leaves any text field
    page.keyboard.press("Control+z")
    expect(node(page, "merge_1")).to_have_count(0)
    expect(node(page, "template_1")).to_be_visible()
    page.get_by_role("button", name="Undo").click()
    expect(node(page, "template_1")).to_have_count(0)
    expect(page.get_by_role("button", name="Undo")).to_be_disabled()

    page.keyboard.press("Control+Shift+z")
    expect(node(page, "template_1")).to_be_visible()
    page.keyboard.press("Control+y")
    expect(node(page, "merge_1")).to_be_visible()
    expect(page.get_by_role("button", name="Redo")).to_be_disabled()

    # Delete what is not wanted, give the template its text, and save with the keyboard.
    page.locator(".react-flow__controls-fitview").click()  # added nodes land right of the others, maybe off view
    node(page, "merge_1").click()
    page.keyboard.press("Delete")
    expect(node(page, "merge_1")).to_have_count(0)
    node(page, "template_1").click()
    field = page.get_by_role("region", name="Node settings").locator("#field-template")
    field.fill("Kept: {{ params.topic }}")
    field.press("Tab")
    expect(node(page, "template_1")).to_have_attribute("data-invalid", "false")
    page.keyboard.press("Control+s")
    expect(page.locator("#builder-version")).to_have_text("version 2")
    expect(status).to_have_text("saved as version 2")
    expect(page.get_by_role("region", name="Version history")).to_contain_text("saved in the builder")

    # Undo after a save brings the change back as unsaved; the saved version stays.
    page.locator(".react-flow__pane").click(position={"x": 30, "y": 30})
    page.keyboard.press("Control+z")
    expect(status).to_contain_text("unsaved changes")
    expect(page.locator("#builder-version")).to_have_text("version 2")


def test_autosave_stores_a_version_once_left_alone(page: Page, notes_workflow: str) -> None:
    node(page, "draft").click()
    label = page.get_by_role("region", name="Node settings").locator("#field-label")
    label.fill("Draft the notes")
    label.press("Tab")
    expect(node(page, "draft")).to_contain_text("Draft the notes")
    expect(page.locator("#save-status")).to_contain_text("unsaved changes")
    expect(page.locator("#save-status")).to_have_text("autosaved as version 2", timeout=AUTOSAVE_WAIT_MS)
    expect(page.get_by_role("region", name="Version history")).to_contain_text("autosaved")
    page.reload()
    expect(node(page, "draft")).to_contain_text("Draft the notes")
    expect(page.locator("#builder-version")).to_have_text("version 2")
