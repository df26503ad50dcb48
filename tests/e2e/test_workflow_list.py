"""The workflow list's actions in real Chromium: export a workflow's JSON, duplicate it, archive the copy
(it leaves the active list), and import an export as a new workflow."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, sign_in
from tests.e2e.helpers import NOTES_GRAPH, admin_api, create_workflow

pytestmark = pytest.mark.e2e


def test_export_duplicate_archive_and_import(page: Page, app_url: str, tmp_path: Path) -> None:
    name = f"Listed {uuid.uuid4().hex[:8]}"
    with admin_api(app_url) as api:
        create_workflow(api, name, NOTES_GRAPH)
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto("/workflows")
    page.get_by_label("Search workflows").fill(name)
    rows = page.get_by_role("row").filter(has_text=name)
    expect(rows).to_have_count(1)

    with page.expect_download() as download:
        page.get_by_role("button", name=f"Export {name}").click()
    exported_path = tmp_path / "exported.json"
    download.value.save_as(exported_path)
    exported = json.loads(exported_path.read_text())
    assert exported["name"] == name and [n["id"] for n in exported["graph"]["nodes"]] == ["in", "draft", "out"]

    page.get_by_role("button", name=f"Duplicate {name}").click()
    expect(page.get_by_role("status")).to_contain_text(f"Duplicated as “{name} (copy)”")
    expect(rows).to_have_count(2)

    page.get_by_role("button", name=f"Archive {name} (copy)").click()
    expect(page.get_by_role("status")).to_contain_text("is archived")
    page.get_by_role("combobox").click()  # the status filter
    page.get_by_role("option", name="archived").click()
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(f"{name} (copy)")
    expect(rows).to_contain_text("archived")

    imported_name = f"Imported {uuid.uuid4().hex[:8]}"
    upload = tmp_path / "import.json"
    upload.write_text(json.dumps({**exported, "name": imported_name}))
    page.locator('input[type="file"]').set_input_files(str(upload))
    page.wait_for_url(re.compile(r"/workflows/\d+$"))
    expect(page.get_by_role("heading", name=imported_name)).to_be_visible()
    expect(page.locator('[data-testid="flow-node"]')).to_have_count(3)

    # A row's last-run badge leads to the workflow's runs: none yet, and the page says so.
    page.goto("/workflows")
    page.get_by_role("combobox").click()  # the status filter still says "archived" in this tab
    page.get_by_role("option", name="all").click()
    page.get_by_label("Search workflows").fill(imported_name)
    page.get_by_role("link", name=f"Runs of {imported_name}").click()
    expect(page.get_by_role("heading", name=f"Runs of {imported_name}")).to_be_visible()
    expect(page.get_by_text("No runs yet")).to_be_visible()


def test_the_list_pages_ten_at_a_time(page: Page, app_url: str) -> None:
    prefix = f"Paged {uuid.uuid4().hex[:6]}"
    with admin_api(app_url) as api:
        for number in range(11):
            create_workflow(api, f"{prefix} {number:02d}", NOTES_GRAPH)
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto("/workflows")
    page.get_by_label("Search workflows").fill(prefix)
    expect(page.get_by_text("Page 1 of 2 · 11 workflows")).to_be_visible()
    previous, following = page.get_by_role("button", name="Previous"), page.get_by_role("button", name="Next")
    expect(previous).to_be_disabled()
    following.click()
    expect(page.get_by_text("Page 2 of 2 · 11 workflows")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=prefix)).to_have_count(1)
    expect(following).to_be_disabled()
    previous.click()
    expect(page.get_by_text("Page 1 of 2 · 11 workflows")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=prefix)).to_have_count(10)


def test_a_workflow_made_private_in_the_dialog_shows_a_lock_and_can_be_shared(page: Page, app_url: str) -> None:
    name = f"Private {uuid.uuid4().hex[:6]}"
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto("/workflows")
    page.get_by_role("button", name="New workflow").click()
    page.get_by_label("Workflow name").fill(name)
    page.get_by_role("checkbox", name="Private: only I and the admins see it").click()
    page.get_by_role("button", name="Create blank").click()
    expect(page).to_have_url(re.compile(r"/workflows/\d+$"))
    with admin_api(app_url) as api:
        [found] = api.get("/workflows", params={"search": name}).json()["data"]
    assert found["visibility"] == "private"

    page.goto("/workflows")
    page.get_by_label("Search workflows").fill(name)
    row = page.get_by_role("row").filter(has_text=name)
    expect(row.get_by_label("private", exact=True)).to_be_visible()
    row.get_by_role("button", name=f"Share {name} with the workspace").click()
    expect(page.get_by_role("status")).to_contain_text(f"“{name}” is shared with the workspace.")
    expect(row.get_by_label("private", exact=True)).to_have_count(0)
    expect(row.get_by_role("button", name=f"Make {name} private")).to_be_visible()
