"""A person registers, signs in, moves around the shell and signs out, in real Chromium."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e
PASSWORD = "amber-falcon-lantern-42"


def _register(page: Page, email: str, name: str = "Ada Lovelace") -> None:
    page.goto("/register")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/login\?registered=1"))


def _sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    if "email=" in page.url:  # the page prefills the address once it has loaded: typing earlier races it
        expect(page.get_by_label("Email")).to_have_value(email)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_label("Password").press("Enter")


def test_register_sign_in_navigate_and_sign_out(page: Page) -> None:
    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    _register(page, email)
    expect(page.get_by_text("Your account is ready")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value(email)
    _sign_in(page, email)

    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_visible()
    for label in ("Overview", "Workflows", "AI Studio", "Inbox", "Analytics", "Settings"):
        expect(nav.get_by_role("link", name=label)).to_be_visible()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_text(email).first).to_be_visible()

    nav.get_by_role("link", name="Settings").click()
    expect(page).to_have_url(re.compile(r"/settings/?$"))
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()

    page.get_by_role("button", name="User menu").click()
    page.get_by_role("menuitem", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    page.goto("/settings")
    expect(page).to_have_url(re.compile(r"/login\?next=/settings"))


def test_wrong_password_shows_an_inline_error(page: Page) -> None:
    email = f"grace-{uuid.uuid4().hex[:8]}@example.com"
    _register(page, email, "Grace Hopper")
    _sign_in(page, email, "not-my-password-1")
    expect(page.get_by_role("alert")).to_contain_text("The email or password is incorrect.")
    expect(page).to_have_url(re.compile(r"/login"))


def test_weak_password_is_refused_inline_on_register(page: Page) -> None:
    page.goto("/register")
    page.get_by_label("Email").fill(f"weak-{uuid.uuid4().hex[:8]}@example.com")
    page.get_by_label("Password").fill("password123")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#password-error")).to_contain_text("too common")


def test_protected_page_redirects_to_sign_in_and_back(page: Page) -> None:
    email = f"linus-{uuid.uuid4().hex[:8]}@example.com"
    _register(page, email, "Linus")
    page.goto("/analytics")
    expect(page).to_have_url(re.compile(r"/login\?next=/analytics"))
    _sign_in(page, email)
    expect(page).to_have_url(re.compile(r"/analytics/?$"))
    expect(page.get_by_role("heading", name="Analytics")).to_be_visible()


def test_sign_in_survives_a_new_tab(page: Page) -> None:
    email = f"tab-{uuid.uuid4().hex[:8]}@example.com"
    _register(page, email, "Tab Person")
    _sign_in(page, email)
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    second = page.context.new_page()
    second.goto("/settings")
    expect(second.get_by_role("heading", name="Your account")).to_be_visible()
    assert "token" not in second.url
