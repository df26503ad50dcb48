"""No signed-in page scrolls sideways on a laptop's screen (1280 px): a wide table scrolls in its own box.

The audit log's table once widened the whole page, pushing the header's menu and the Export button
off the screen.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, sign_in
from tests.e2e.helpers import NOTES_GRAPH, admin_api, create_workflow

pytestmark = pytest.mark.e2e

PAGES = ["/", "/workflows", "/documents", "/ai", "/inbox", "/analytics", "/settings", "/settings/services",
         "/settings/system", "/settings/audit"]
_SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def test_no_page_is_wider_than_the_screen(page: Page, app_url: str) -> None:
    with admin_api(app_url) as api:
        workflow_id = create_workflow(api, "Wide layout check", NOTES_GRAPH)
        run = api.post(f"/workflows/{workflow_id}/execute", json={"parameters": {"topic": "layout"}, "wait": True})
        assert run.status_code == 200, run.text
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    wider = {}
    for path in [*PAGES, f"/workflows/{workflow_id}", f"/workflows/{workflow_id}/runs", f"/runs/{run.json()['id']}"]:
        page.goto(path)
        expect(page.get_by_role("main")).to_be_visible()
        if path == "/settings/audit":
            expect(page.get_by_role("row").nth(3)).to_be_visible()  # entries with details, the widest rows
        page.wait_for_timeout(500)  # charts and tables settle their size
        if (overflow := page.evaluate(_SIDEWAYS)) > 0:
            wider[path] = overflow
    assert wider == {}, f"pages wider than the screen, by pixels: {wider}"
