"""The analytics page draws its Plotly charts from runs seeded through the real API, shows empty states where
there is no data, and re-queries the server when the time range or workflow changes; the Overview refreshes
itself when a run finishes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, sign_in

SEED = "E2E seed"  # labels every workflow this test creates


def _token(app_url: str) -> dict[str, str]:
    answer = httpx.post(f"{app_url}/api/v3/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
                        timeout=30)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _workflow(app_url: str, auth: dict[str, str], name: str, middle: dict[str, object]) -> int:
    graph = {"nodes": [{"id": "in", "type": "input", "config": {"fields": []}}, middle,
                       {"id": "out", "type": "output", "config": {"format": "markdown"}}],
             "edges": [{"source": "in", "target": middle["id"]}, {"source": middle["id"], "target": "out"}]}
    created = httpx.post(f"{app_url}/api/v3/workflows", json={"name": name, "graph": graph}, headers=auth, timeout=30)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def _run(app_url: str, auth: dict[str, str], workflow_id: int) -> str:
    answer = httpx.post(f"{app_url}/api/v3/workflows/{workflow_id}/execute", json={"parameters": {}, "wait": True},
                        headers=auth, timeout=60)
    assert answer.status_code in (200, 201, 202), answer.text
    return str(answer.json()["status"])


@pytest.fixture(scope="module")
def seeded(app_url: str) -> dict[str, int]:
    """Three successful runs of one workflow and two failed runs of another (an SSRF-refused request)."""
    auth = _token(app_url)
    ok = _workflow(app_url, auth, f"{SEED}: greeting",
                   {"id": "say", "type": "template", "config": {"template": "Hello"}})
    bad = _workflow(app_url, auth, f"{SEED}: blocked fetch",
                    {"id": "fetch", "type": "http_request", "config": {"url": "http://127.0.0.1:9/"}})
    assert [_run(app_url, auth, ok) for _ in range(3)] == ["succeeded"] * 3
    assert [_run(app_url, auth, bad) for _ in range(2)] == ["failed"] * 2
    return {"ok": ok, "bad": bad}


def _kpi(page: Page, label: str) -> str:
    return page.get_by_role("group", name=label).locator("[data-kpi-value]").inner_text()


def test_the_analytics_page_charts_seeded_runs_and_switches_range(page: Page, app_url: str,
                                                                  seeded: dict[str, int]) -> None:
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto("/analytics")
    runs_chart = page.locator("#chart-runs svg.main-svg").first
    expect(runs_chart).to_be_visible(timeout=30_000)  # Plotly drew an SVG
    # the recorder writes in one-second batches: reload until all five runs are in
    for _ in range(10):
        if _kpi(page, "Runs") == "5":
            break
        page.wait_for_timeout(1000)
        page.reload()
        expect(runs_chart).to_be_visible(timeout=30_000)
    assert _kpi(page, "Runs") == "5"
    assert _kpi(page, "Success rate") == "60%"
    for chart in ("chart-durations", "chart-success", "chart-heatmap"):
        expect(page.locator(f"#{chart} svg.main-svg").first).to_be_visible()
    expect(page.locator("#chart-success")).to_contain_text(f"{SEED}: blocked fetch")
    expect(page.get_by_role("region", name="Key figures")).to_be_visible()

    week_period = page.locator("#analytics-period").inner_text()
    page.get_by_role("radio", name="24 hours").click()
    day_start = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d")
    expect(page.locator("#analytics-period")).to_contain_text(f"Period: {day_start}")
    assert page.locator("#analytics-period").inner_text() != week_period
    expect(runs_chart).to_be_visible()
    assert _kpi(page, "Runs") == "5"

    page.get_by_role("combobox", name="Workflow").click()
    page.get_by_role("option", name=f"{SEED}: blocked fetch").click()
    expect(page.get_by_role("group", name="Success rate").locator("[data-kpi-value]")).to_have_text("0%")
    assert _kpi(page, "Runs") == "2"
    # that workflow made no AI call (other tests' AI Studio calls belong to no workflow): empty states
    for empty in ("chart-tokens", "chart-cost"):
        expect(page.locator(f"[data-empty-chart={empty}]")).to_contain_text("No AI")

    # the page views of this session and the filter changes were recorded as the admin's activity;
    # the recorder writes in one-second batches, so the latest actions may still be on their way
    auth = _token(app_url)
    for _ in range(20):
        exported = httpx.get(f"{app_url}/api/v3/advanced/analytics/export", headers=auth, timeout=30,
                             params={"time_range": "day", "type": ["page_view", "ui_action"]})
        assert exported.status_code == 200, exported.text
        if ",page_view," in exported.text and ",ui_action," in exported.text:
            break
        page.wait_for_timeout(500)
    assert ",page_view," in exported.text and ",ui_action," in exported.text


def test_the_overview_refreshes_when_a_run_finishes(page: Page, app_url: str, seeded: dict[str, int]) -> None:
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto("/")
    expect(page.locator("#overview-runs svg.main-svg").first).to_be_visible(timeout=30_000)
    expect(page.locator("#overview-live")).to_be_visible()
    before = int(_kpi(page, "Runs"))
    assert _run(app_url, _token(app_url), seeded["ok"]) == "succeeded"
    expect(page.get_by_role("group", name="Runs").locator("[data-kpi-value]")).to_have_text(
        re.compile(f"^{before + 1}$"), timeout=20_000)  # no reload: the page followed the run event
