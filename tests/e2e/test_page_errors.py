"""A page that fails in the browser shows the app's error page, whose Reload works under the
Content-Security-Policy; a stale page's null-property error reloads the page by itself, once.

The fault is injected in the browser: for as many page loads of the builder as the test arms, the
page's ResizeObserver (which the canvas creates as it mounts) throws. The ``page`` fixture fails the
test if the CSP refused anything, as it refused Reflex's own reload (JavaScript sent for evaluation).
"""

from __future__ import annotations

import json
import time

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, SERVER_LOGS, sign_in
from tests.e2e.helpers import NOTES_GRAPH, admin_api, create_workflow, node

pytestmark = pytest.mark.e2e

_FAULT = """(() => {
  const armed = JSON.parse(window.sessionStorage.getItem('dwc_test_fault') || 'null');
  if (!armed || armed.loads < 1 || !window.location.pathname.startsWith('/workflows/')) return;
  window.sessionStorage.setItem('dwc_test_fault', JSON.stringify({...armed, loads: armed.loads - 1}));
  const Fault = armed.kind === 'TypeError' ? TypeError : Error;
  window.ResizeObserver = class { constructor() { throw new Fault(armed.message); } };
})()"""


def _builder_with_a_fault(page: Page, app_url: str, kind: str, message: str, *, faulty_loads: int = 1) -> list[str]:
    """Open a new workflow in the builder with ``faulty_loads`` faulty page loads armed; the pages loaded."""
    with admin_api(app_url) as api:
        workflow_id = create_workflow(api, f"Faulty {kind}", NOTES_GRAPH)
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    loads: list[str] = []
    page.on("load", lambda loaded: loads.append(loaded.url))
    page.add_init_script(_FAULT)
    page.evaluate("armed => window.sessionStorage.setItem('dwc_test_fault', armed)",
                  json.dumps({"loads": faulty_loads, "kind": kind, "message": message}))
    page.goto(f"/workflows/{workflow_id}")
    return loads


def _settled(page: Page, loads: list[str], expected: int) -> list[str]:
    """The pages loaded once ``expected`` loads happened and a second passed with no other: the error page
    shows before the error boundary's reload, so seeing it does not yet say whether the page reloads."""
    deadline = time.monotonic() + 20
    while len(loads) < expected and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    page.wait_for_timeout(1000)
    return loads


def test_a_page_that_fails_shows_the_error_page_and_reload_brings_it_back(page: Page, app_url: str) -> None:
    loads = _builder_with_a_fault(page, app_url, "Error", "the canvas could not measure itself")

    error_page = page.locator("#page-error")
    expect(error_page.get_by_role("heading", name="This page stopped working")).to_be_visible()
    expect(error_page).to_have_attribute("role", "alert")
    expect(error_page.get_by_role("link", name="Go to the overview")).to_have_attribute("href", "/")
    error_page.get_by_text("Error details").click()
    expect(error_page.locator("pre")).to_have_text("Error: the canvas could not measure itself")
    assert len(_settled(page, loads, 1)) == 1, f"only a stale page's error reloads by itself: {loads}"

    error_page.get_by_role("button", name="Reload page").click()
    expect(node(page, "out")).to_be_visible()
    expect(error_page).to_have_count(0)
    assert len(loads) == 2
    log = SERVER_LOGS[app_url].read_text()
    assert "a page failed in the browser: Error: the canvas could not measure itself" in log


def test_a_stale_pages_null_error_reloads_the_page_once_by_itself(page: Page, app_url: str) -> None:
    loads = _builder_with_a_fault(page, app_url, "TypeError", "Cannot read properties of null (reading 'x')")

    expect(node(page, "out")).to_be_visible()
    expect(page.locator("#page-error")).to_have_count(0)
    assert len(loads) == 2, f"the faulty load, then the reload: {loads}"
    assert "a page failed in the browser: TypeError: Cannot read properties of null" in \
        SERVER_LOGS[app_url].read_text()


def test_a_stale_page_that_fails_again_at_once_shows_the_error_page_instead_of_reloading_in_a_loop(
        page: Page, app_url: str) -> None:
    loads = _builder_with_a_fault(page, app_url, "TypeError", "Cannot read properties of null (reading 'y')",
                                  faulty_loads=2)

    assert len(_settled(page, loads, 2)) == 2, f"one reload by itself, no more: {loads}"
    expect(page.get_by_role("heading", name="This page stopped working")).to_be_visible()
    page.get_by_role("button", name="Reload page").click()
    expect(node(page, "out")).to_be_visible()
