"""An admin changes a user's role in Settings; the change holds for the API too. Viewers see no admin tools."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, sign_in

pytestmark = pytest.mark.e2e
PASSWORD = "amber-falcon-lantern-42"


def _api_user(app_url: str) -> tuple[str, str]:
    email = f"member-{uuid.uuid4().hex[:8]}@example.com"
    httpx.post(f"{app_url}/api/v3/auth/register", json={"email": email, "password": PASSWORD}, timeout=30)
    login = httpx.post(f"{app_url}/api/v3/auth/login", json={"email": email, "password": PASSWORD}, timeout=30)
    return email, login.json()["access_token"]


def test_admin_promotes_a_viewer_to_editor(page: Page, app_url: str) -> None:
    email, token = _api_user(app_url)
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto("/settings")
    page.get_by_label("Search users").fill(email)
    row = page.get_by_role("row").filter(has_text=email)
    expect(row).to_have_count(1)
    row.get_by_role("combobox", name="Role").click()
    page.get_by_role("option", name="editor").click()
    expect(page.get_by_role("status")).to_contain_text(f"{email}: role is now editor")
    me = httpx.get(f"{app_url}/api/v3/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert me.json()["role"] == "editor"


def test_viewers_see_no_user_management(page: Page, app_url: str) -> None:
    email, _ = _api_user(app_url)
    sign_in(page, email, PASSWORD)
    page.goto("/settings")
    expect(page.get_by_text("Only admins manage users and roles.")).to_be_visible()
    expect(page.get_by_role("heading", name="Users")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/settings/?$"))
