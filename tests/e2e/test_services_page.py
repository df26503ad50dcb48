"""Settings > Services: an admin sees every service (status colour, latency), the run queue and the
cache's hit-ratio chart, clears and optimizes the cache (each audited as that admin); a viewer is refused."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, sign_in

pytestmark = pytest.mark.e2e
PASSWORD = "copper-meadow-signal-73"


def _token(app_url: str, email: str, password: str) -> dict[str, str]:
    login = httpx.post(f"{app_url}/api/v3/auth/login", json={"email": email, "password": password}, timeout=30)
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def _cached_entries(app_url: str, headers: dict[str, str]) -> int:
    """Entries outside ``auth``, where the API keeps the row of whoever calls it (this call included)."""
    stats = httpx.get(f"{app_url}/api/v3/advanced/cache/stats", headers=headers, timeout=30)
    assert stats.status_code == 200, stats.text
    return sum(int(n["entries"]) for n in stats.json()["namespaces"] if n["namespace"] != "auth")


def _audited(app_url: str, headers: dict[str, str], action: str) -> list[dict[str, object]]:
    answer = httpx.get(f"{app_url}/api/v3/audit", headers=headers, params={"action": action}, timeout=30)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["data"])


def test_admin_sees_every_service_and_the_hit_ratio_chart_and_clears_the_cache(page: Page, app_url: str) -> None:
    admin = _token(app_url, ADMIN_EMAIL, ADMIN_PASSWORD)
    prompt = {"provider": "builtin", "prompt": f"Summarise the tides {uuid.uuid4().hex}"}
    for _ in range(2):  # a miss that stores the answer, then a hit
        answer = httpx.post(f"{app_url}/api/v3/advanced/ai/generate", headers=admin, json=prompt, timeout=60)
        assert answer.status_code == 200, answer.text
    assert _cached_entries(app_url, admin) >= 1

    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto("/settings")
    page.get_by_role("link", name="Services & cache").click()
    services = page.get_by_role("region", name="Service status")
    for name in ("database", "redis", "queue", "cache", "ai:builtin", "channel:email", "channel:in_app"):
        expect(services.get_by_role("rowheader", name=name, exact=False).first).to_be_visible()
    database = services.get_by_role("row").filter(has=page.get_by_role("rowheader", name="database"))
    expect(database).to_contain_text("OK")
    expect(database.locator("[data-status='ok']")).to_have_attribute("data-accent-color", "green")
    expect(database.get_by_role("cell").nth(1)).to_have_text(re.compile(r"^[\d,]+\.\d ms$"))
    cache_row = services.get_by_role("row").filter(has=page.get_by_role("rowheader", name="cache"))
    expect(cache_row.get_by_role("cell").nth(1)).to_have_text(re.compile(r"^[\d,]+\.\d ms$"))  # the probe read
    expect(cache_row.get_by_role("cell").nth(2)).to_have_text(re.compile(r"^cachetools \d"))
    redis_row = services.get_by_role("row").filter(has=page.get_by_role("rowheader", name="redis"))
    expect(redis_row).to_contain_text("Not configured")
    expect(redis_row.locator("[data-status='not_configured']")).to_have_attribute("data-accent-color", "gray")
    queue = page.get_by_role("region", name="Run queue")
    expect(queue).to_contain_text("in-process")
    expect(queue.locator(".rt-Card").filter(has_text="Waiting").locator(".rt-Heading")).to_have_text("0")
    expect(queue.locator(".rt-Card").filter(has_text="Workers").locator(".rt-Heading")).to_have_text("1")
    expect(page.locator("#hit-ratio-chart svg.main-svg").first).to_be_visible()
    expect(page.locator("#services-overall")).to_have_text("All services OK")
    expect(page.get_by_role("region", name="Cache namespaces").get_by_role("rowheader", name="ai")).to_be_visible()

    page.get_by_role("button", name="Clear", exact=True).click()
    page.get_by_role("alertdialog").get_by_role("button", name="Clear cache").click()
    expect(page.get_by_role("status")).to_contain_text("Cleared every namespace")
    assert _cached_entries(app_url, admin) == 0
    ai_row = page.get_by_role("region", name="Cache namespaces").get_by_role("row").filter(
        has=page.get_by_role("rowheader", name="ai", exact=True))
    expect(ai_row.get_by_role("cell").nth(3)).to_have_text("0")  # entries gone; the counters stay
    cleared = _audited(app_url, admin, "cache_cleared")[0]  # the page's clear is audited like the API's
    assert (cleared["actor_email"], cleared["target"]) == (ADMIN_EMAIL, "cache:*")

    page.get_by_role("button", name="Optimize").click()
    expect(page.get_by_role("status")).to_contain_text(re.compile(
        r"Optimized in [\d,]+ ms: \d+ expired (entry|entries) purged\. Largest namespaces: "))
    optimized = _audited(app_url, admin, "cache_optimized")[0]
    assert (optimized["actor_email"], optimized["target"]) == (ADMIN_EMAIL, "cache:*")
    assert optimized["details"] == {"purged_expired": 0}


def test_a_viewer_is_refused_the_services_page(page: Page, app_url: str) -> None:
    email = f"viewer-{uuid.uuid4().hex[:8]}@example.com"
    httpx.post(f"{app_url}/api/v3/auth/register", json={"email": email, "password": PASSWORD}, timeout=30)
    sign_in(page, email, PASSWORD)
    page.goto("/settings/services")
    expect(page.get_by_role("alert")).to_contain_text("Only admins see the services")
    expect(page.get_by_role("region", name="Service status")).to_have_count(0)
    expect(page.get_by_role("button", name="Clear", exact=True)).to_have_count(0)
    page.goto("/settings")
    expect(page.get_by_text("Only admins manage users and roles.")).to_be_visible()
    expect(page.get_by_role("link", name="Services & cache")).to_have_count(0)
