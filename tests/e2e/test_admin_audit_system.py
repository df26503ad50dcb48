"""The admin's Audit log and System pages in Chromium: filters, CSV export, Plotly panel; the CSP breaks nothing;
no configured secret reaches the browser (page, websocket state) or the server's log."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, WebSocket, expect

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, SERVER_LOGS, UNUSED_SECRETS, sign_in

pytestmark = pytest.mark.e2e
SECRETS = [*UNUSED_SECRETS.values(), "sk-e2e-fake"]
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation',
    e => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def _admin_token(app_url: str) -> str:
    login = httpx.post(f"{app_url}/api/v3/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
                       timeout=30)
    return str(login.json()["access_token"])


def _record_frames(page: Page, frames: list[str]) -> None:
    def on_socket(socket: WebSocket) -> None:
        socket.on("framereceived", lambda payload: frames.append(str(payload)))
    page.on("websocket", on_socket)


def test_admin_filters_exports_and_reads_the_system_panel(page: Page, app_url: str, tmp_path: Path) -> None:
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    frames: list[str] = []
    _record_frames(page, frames)
    request_id = f"e2e-{uuid.uuid4().hex[:12]}"
    name = f"Audited {uuid.uuid4().hex[:6]}"
    created = httpx.post(f"{app_url}/api/v3/workflows", json={"name": name}, timeout=30,
                         headers={"Authorization": f"Bearer {_admin_token(app_url)}", "X-Request-ID": request_id})
    assert created.status_code == 201 and created.headers["X-Request-ID"] == request_id
    assert created.headers["X-Frame-Options"] == "DENY"

    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto("/settings")
    page.get_by_role("link", name="Audit log").click()
    expect(page).to_have_url(re.compile(r"/settings/audit/?$"))
    row = page.get_by_role("row").filter(has_text=request_id)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("workflow_created")
    expect(row).to_contain_text(ADMIN_EMAIL)
    page.get_by_label("Target").fill(f"workflow:{created.json()['id']}")
    expect(page.get_by_role("row")).to_have_count(2)  # header + the one entry
    page.get_by_label("Target").fill("no-such-target:")
    expect(page.get_by_text("No matching entries")).to_be_visible()
    page.get_by_role("button", name="Clear").click()
    expect(page.get_by_role("row").filter(has_text=request_id)).to_have_count(1)
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    saved = tmp_path / "audit.csv"
    download.value.save_as(saved)
    exported = saved.read_text()
    assert exported.startswith("time,actor,action,target,ip,request_id,details") and request_id in exported

    page.goto("/settings/system")
    expect(page.get_by_text("Queued runs")).to_be_visible()
    expect(page.locator(".js-plotly-plot .main-svg").first).to_be_visible()
    expect(page.get_by_text("Runs by status")).to_be_visible()

    document = httpx.get(f"{app_url}/settings/audit", timeout=30)
    assert "frame-ancestors 'none'" in document.headers["Content-Security-Policy"]
    assert page.evaluate("window.__cspViolations") == []  # the console check runs in the page fixture
    received = " ".join(frames) + page.content()
    assert frames, "the page's websocket carried no state"
    for secret in SECRETS:
        assert secret not in received, "a configured secret reached the browser"
        assert secret not in SERVER_LOGS[app_url].read_text(errors="replace"), "a configured secret was logged"


def test_viewers_see_neither_page(page: Page, app_url: str) -> None:
    email = f"viewer-{uuid.uuid4().hex[:8]}@example.com"
    password = "amber-falcon-lantern-42"
    httpx.post(f"{app_url}/api/v3/auth/register", json={"email": email, "password": password}, timeout=30)
    sign_in(page, email, password)
    page.goto("/settings/audit")
    expect(page.get_by_text("Only admins read the audit log.")).to_be_visible()
    page.goto("/settings/system")
    expect(page.get_by_text("Only admins see the system panel.")).to_be_visible()
