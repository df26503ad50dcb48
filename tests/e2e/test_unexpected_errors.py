"""A page event that fails in a way its page did not expect (here: the database locked past its timeout)
shows a banner with a reference to the log, not a toast the Content-Security-Policy refuses to run; the
page goes on working once the database is free again. Over an open dialog, the banner is on top and
can be dismissed without closing the dialog."""

from __future__ import annotations

import sqlite3

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import SERVER_LOGS
from tests.e2e.helpers import NOTES_GRAPH, node, open_in_builder

pytestmark = pytest.mark.e2e


def test_a_run_started_while_the_database_is_locked_shows_the_banner_then_works(page: Page, app_url: str) -> None:
    open_in_builder(page, app_url, "Locked", NOTES_GRAPH)
    page.get_by_role("button", name="Run", exact=True).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("topic").fill("locks")

    # Another process holds SQLite's write lock for longer than the app's busy timeout (5 s).
    locker = sqlite3.connect(SERVER_LOGS[app_url].parent / "dwc.db", isolation_level=None, timeout=30)
    try:
        locker.execute("BEGIN IMMEDIATE")
        dialog.get_by_role("button", name="Start run").click()
        banner = page.locator("#unexpected-error")
        expect(banner).to_contain_text("The database is unavailable or busy, so that was not done")
        expect(banner).to_have_attribute("role", "alert")
        reference = banner.locator("code").inner_text()
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert reference and f"a page event failed (reference {reference})" in SERVER_LOGS[app_url].read_text()

    # Over the dialog's overlay, the banner is what a click at its middle reaches; dismissing it
    # leaves the dialog open with what was typed.
    assert banner.evaluate(_ON_TOP), "the banner is under the dialog's overlay"
    banner.get_by_role("button", name="Dismiss").click()
    expect(banner).to_have_count(0)
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("topic")).to_have_value("locks")

    dialog.get_by_role("button", name="Start run").click()
    expect(node(page, "out").get_by_test_id("node-status")).to_have_attribute("data-status", "succeeded",
                                                                              timeout=60_000)


_ON_TOP = """banner => {
    const box = banner.getBoundingClientRect();
    const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
    return hit !== null && banner.contains(hit);
}"""
