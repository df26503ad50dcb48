"""The analytics page draws its Plotly charts from runs seeded through the real API, shows empty states where
there is no data, and re-queries the server when the time range or workflow changes (the AI and delivery
figures of a workflow are those its runs made); it downloads the report, saves the report subscription,
shows the insights, hover details and follows the dark colour scheme; the Overview refreshes itself when
a run finishes."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

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


def _workflow(app_url: str, auth: dict[str, str], name: str, *middle: dict[str, object]) -> int:
    """A workflow input → ``middle`` nodes in a chain → output."""
    chain: list[dict[str, object]] = [{"id": "in", "type": "input", "config": {"fields": []}}, *middle,
                                      {"id": "out", "type": "output", "config": {"format": "markdown"}}]
    graph = {"nodes": chain, "edges": [{"source": a["id"], "target": b["id"]} for a, b in pairwise(chain)]}
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
    """Three successful runs of one workflow, two failed runs of another (an SSRF-refused request), and one
    run of a third that asks the (loopback) OpenAI for a digest and sends it to the inbox."""
    auth = _token(app_url)
    ok = _workflow(app_url, auth, f"{SEED}: greeting",
                   {"id": "say", "type": "template", "config": {"template": "Hello"}})
    bad = _workflow(app_url, auth, f"{SEED}: blocked fetch",
                    {"id": "fetch", "type": "http_request", "config": {"url": "http://127.0.0.1:9/"}})
    ai = _workflow(app_url, auth, f"{SEED}: AI digest",
                   {"id": "write", "type": "ai_generate",
                    "config": {"provider": "openai", "prompt": "Summarise this week's sales figures"}},
                   {"id": "tell", "type": "notify", "config": {"channel": "in_app", "subject": "Digest ready",
                                                                 "message": "{{ write.content }}"}})
    assert [_run(app_url, auth, ok) for _ in range(3)] == ["succeeded"] * 3
    assert [_run(app_url, auth, bad) for _ in range(2)] == ["failed"] * 2
    assert _run(app_url, auth, ai) == "succeeded"
    # the recorder writes in one-second batches, and the in-app delivery may land after the run finished
    deadline = time.monotonic() + 20
    while True:
        figures = httpx.get(f"{app_url}/api/v3/advanced/analytics/summary", headers=auth, timeout=30,
                            params={"time_range": "day", "workflow_id": ai}).json()["current"]
        if (figures["runs"], figures["ai_calls"], figures["notifications_sent"]) == (1, 1, 1) \
                or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert (figures["runs"], figures["ai_calls"], figures["notifications_sent"]) == (1, 1, 1), figures
    assert figures["ai_tokens"] > 0 and figures["ai_cost_usd"] > 0
    return {"ok": ok, "bad": bad, "ai": ai}


def _kpi(page: Page, label: str) -> str:
    return page.get_by_role("group", name=label).locator("[data-kpi-value]").inner_text()


def test_the_analytics_page_charts_seeded_runs_and_switches_range(page: Page, app_url: str,
                                                                  seeded: dict[str, int]) -> None:
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto("/analytics")
    runs_chart = page.locator("#chart-runs svg.main-svg").first
    expect(runs_chart).to_be_visible(timeout=30_000)  # Plotly drew an SVG
    assert _kpi(page, "Runs") == "6"  # the seed waited for the recorder
    assert _kpi(page, "Success rate") == "67%"
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
    assert _kpi(page, "Runs") == "6"

    page.get_by_role("combobox", name="Workflow").click()
    page.get_by_role("option", name=f"{SEED}: blocked fetch").click()
    expect(page.get_by_role("group", name="Success rate").locator("[data-kpi-value]")).to_have_text("0%")
    assert _kpi(page, "Runs") == "2"
    # that workflow made no AI call and sent nothing (other tests' AI Studio calls belong to no workflow)
    for empty in ("chart-tokens", "chart-cost"):
        expect(page.locator(f"[data-empty-chart={empty}]")).to_contain_text("No AI")
    expect(page.locator("[data-empty-chart=chart-deliveries]")).to_contain_text("No notifications")
    assert _kpi(page, "AI tokens") == "0"

    # the AI digest's call and its in-app delivery count for it
    page.get_by_role("combobox", name="Workflow").click()
    page.get_by_role("option", name=f"{SEED}: AI digest").click()
    expect(page.get_by_role("group", name="Runs").locator("[data-kpi-value]")).to_have_text("1")
    for chart in ("chart-tokens", "chart-cost", "chart-deliveries"):
        expect(page.locator(f"#{chart} svg.main-svg").first).to_be_visible()
    assert _kpi(page, "AI tokens") != "0" and _kpi(page, "Notifications sent") == "1"
    expect(page.locator("#chart-tokens")).to_contain_text("gpt-4o-mini")
    expect(page.locator("#chart-deliveries")).to_contain_text("in_app")

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


def test_the_report_downloads_the_subscription_saves_and_the_charts_follow_dark_mode(
        page: Page, app_url: str, seeded: dict[str, int]) -> None:
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.emulate_media(color_scheme="light")
    page.goto("/analytics")
    tick = page.locator("#chart-runs .xtick text").first
    expect(tick).to_be_visible(timeout=30_000)
    expect(tick).to_have_css("fill", "rgb(42, 63, 95)")  # plotly's light template

    # the insights panel shows what the seed made stand out: the only workflow that cost anything
    insights = page.get_by_role("list", name="Insights")
    expect(insights.get_by_role("listitem").filter(has_text=f"'{SEED}: AI digest' costs the most")).to_be_visible()

    # hover details: a duration bar names its range and its runs
    bar = page.locator("#chart-durations .point path").first
    bar.scroll_into_view_if_needed()
    box = bar.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=5)  # plotly's own hover layer
    expect(page.locator("#chart-durations .hoverlayer .hovertext")).to_contain_text(re.compile(r"\d+ runs"))

    page.get_by_role("button", name="Report").click()
    with page.expect_download() as started:
        page.get_by_role("menuitem", name="Markdown (.md)").click()
    download = started.value
    assert download.suggested_filename.startswith("analytics-report-week-")
    report = Path(download.path()).read_text(encoding="utf-8")
    assert report.startswith("# Weekly analytics report")
    assert "## Summary" in report and "| Runs | 6 |" in report and f"| {SEED}: AI digest | 1 | 1 | 0 |" in report

    page.get_by_role("combobox", name="Report frequency").click()
    page.get_by_role("option", name="weekly").click()
    expect(page.get_by_text("You will get a weekly report by email and in your inbox.")).to_be_visible()
    auth = _token(app_url)
    saved = httpx.get(f"{app_url}/api/v3/advanced/analytics/report-subscription", headers=auth, timeout=30).json()
    assert saved["frequency"] == "weekly"
    assert datetime.fromisoformat(saved["next_send_at"]).strftime("%a %H:%M") == "Mon 07:00"
    page.reload()
    expect(page.get_by_role("combobox", name="Report frequency")).to_have_text("weekly")

    page.emulate_media(color_scheme="dark")
    expect(page.locator("html")).to_have_class(re.compile(r"\bdark\b"))
    expect(tick).to_have_css("fill", "rgb(242, 245, 250)")  # plotly_dark's text, on the dark card
    expect(page.locator("#chart-runs svg.main-svg").first).to_be_visible()
    httpx.put(f"{app_url}/api/v3/advanced/analytics/report-subscription", headers=auth, timeout=30,
              json={"frequency": "off"}).raise_for_status()


def test_the_overview_refreshes_when_a_run_finishes(page: Page, app_url: str, seeded: dict[str, int]) -> None:
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto("/")
    expect(page.locator("#overview-runs svg.main-svg").first).to_be_visible(timeout=30_000)
    expect(page.locator("#overview-live")).to_be_visible()
    before = int(_kpi(page, "Runs"))
    assert _run(app_url, _token(app_url), seeded["ok"]) == "succeeded"
    expect(page.get_by_role("group", name="Runs").locator("[data-kpi-value]")).to_have_text(
        re.compile(f"^{before + 1}$"), timeout=20_000)  # no reload: the page followed the run event
