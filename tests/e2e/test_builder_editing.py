"""Editing in the builder with the keyboard: undo and redo (buttons and ctrl+z / ctrl+shift+z / ctrl+y),
ctrl+s saving a version, and autosave storing a version by itself once the graph is left alone; viewing
and restoring an old version; a cycle drawn as invalid edges; deleting a multi-selection; and the
conflict a second save from the same version gets."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, sign_in
from tests.e2e.helpers import NOTES_GRAPH, drag, node, open_in_builder

pytestmark = pytest.mark.e2e
AUTOSAVE_WAIT_MS = 60_000


@pytest.fixture
def notes_workflow(page: Page, app_url: str) -> str:
    workflow_id = open_in_builder(page, app_url, "Editing", NOTES_GRAPH)
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


def test_view_an_old_version_go_back_then_restore_it(page: Page, notes_workflow: str) -> None:
    node(page, "draft").click()
    label = page.get_by_role("region", name="Node settings").locator("#field-label")
    label.fill("Draft v2")
    label.press("Tab")
    expect(node(page, "draft")).to_contain_text("Draft v2")
    page.keyboard.press("Control+s")
    expect(page.locator("#builder-version")).to_have_text("version 2")

    # View version 1: its graph, read-only, with a way back; the palette and toolbar edits are gone meanwhile.
    history = page.get_by_role("region", name="Version history")
    history.get_by_role("button", name="View version 1").click()
    banner = page.get_by_role("region", name="Viewing a version")
    expect(banner).to_contain_text("Viewing version 1 (read-only)")
    expect(page.locator('[data-testid="flow-canvas"]')).to_have_attribute("data-read-only", "true")
    expect(node(page, "draft")).not_to_contain_text("Draft v2")
    expect(page.get_by_role("region", name="Node palette")).to_have_count(0)
    banner.get_by_role("button", name="Back to editing").click()
    expect(banner).to_have_count(0)
    expect(node(page, "draft")).to_contain_text("Draft v2")
    expect(page.locator('[data-testid="flow-canvas"]')).to_have_attribute("data-read-only", "false")

    # View it again and restore it: it becomes version 3.
    history.get_by_role("button", name="View version 1").click()
    banner.get_by_role("button", name="Restore this version").click()
    expect(page.locator("#builder-version")).to_have_text("version 3")
    expect(page.get_by_text("Version 1 restored as version 3.")).to_be_visible()
    expect(banner).to_have_count(0)
    expect(node(page, "draft")).not_to_contain_text("Draft v2")
    expect(history).to_contain_text("restored version 1")


def test_a_cycle_is_drawn_as_an_invalid_edge_and_several_nodes_delete_together(page: Page,
                                                                               notes_workflow: str) -> None:
    page.get_by_role("button", name="Add Template").click()
    page.locator(".react-flow__controls-fitview").click()
    added = node(page, "template_1")
    drag(page, node(page, "draft").get_by_test_id("handle-out-out"), added.get_by_test_id("handle-in"))
    expect(page.locator('.react-flow__edge[data-id="draft:out->template_1"]')).to_have_count(1)
    drag(page, added.get_by_test_id("handle-out-out"), node(page, "draft").get_by_test_id("handle-in"))

    # draft -> template_1 -> draft: both edges drawn in the error style, and the reason is shown.
    back = page.locator('.react-flow__edge[data-id="template_1:out->draft"]')
    expect(back).to_have_class(re.compile(r"\bdwc-edge-invalid\b"))
    expect(page.locator(".react-flow__edge.dwc-edge-invalid")).to_have_count(2)
    expect(page.get_by_text("the edges form a cycle")).to_be_visible()
    expect(page.locator("#save-status")).to_contain_text("fix the errors to autosave")
    page.locator(".react-flow__pane").click(position={"x": 30, "y": 30})
    page.keyboard.press("Control+z")
    expect(back).to_have_count(0)
    expect(page.locator(".react-flow__edge.dwc-edge-invalid")).to_have_count(0)
    expect(page.get_by_text("the edges form a cycle")).to_have_count(0)

    # Ctrl+click selects a second node; the side panel deletes both (and their edges) at once.
    added.click()
    node(page, "out").click(modifiers=["Control"])
    panel = page.get_by_role("region", name="Node settings")
    expect(panel).to_contain_text("2 nodes selected")
    panel.get_by_role("button", name="Delete selected").click()
    expect(added).to_have_count(0)
    expect(node(page, "out")).to_have_count(0)
    expect(page.locator(".react-flow__edge")).to_have_count(1)  # in -> draft stays


def test_the_second_of_two_saves_from_the_same_version_gets_a_conflict(
        page: Page, notes_workflow: str, app_url: str, request: pytest.FixtureRequest) -> None:
    assert page.context.browser is not None
    other_context = page.context.browser.new_context(base_url=app_url, viewport={"width": 1280, "height": 800})
    other_context.set_default_timeout(20_000)
    request.addfinalizer(other_context.close)
    other = other_context.new_page()
    sign_in(other, ADMIN_EMAIL, ADMIN_PASSWORD)
    other.goto(f"/workflows/{notes_workflow}")
    expect(node(other, "draft")).to_be_visible()

    for tab, text in ((page, "Mine"), (other, "Theirs")):
        node(tab, "draft").click()
        label = tab.get_by_role("region", name="Node settings").locator("#field-label")
        label.fill(text)
        label.press("Tab")
        expect(node(tab, "draft")).to_contain_text(text)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#builder-version")).to_have_text("version 2")

    other.get_by_role("button", name="Save").click()
    expect(other.get_by_role("alert")).to_contain_text("Someone saved this workflow after you opened it")
    expect(other.locator("#builder-version")).to_have_text("version 1")
    expect(other.locator("#save-status")).to_contain_text("unsaved changes")  # nothing of theirs was lost
