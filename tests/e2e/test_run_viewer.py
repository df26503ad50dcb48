"""Runs in real Chromium: a run started in the builder, re-run from a node in the run panel, and the run
viewer's Plotly timeline, step details, output document download and diff against the previous run;
an address naming no run gets a clear refusal; a running badge (photographed into the test artifacts),
a failed badge carrying its error, and the step log in the node panel and the run viewer."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, artifacts_dir, sign_in
from tests.e2e.helpers import NOTES_GRAPH, admin_api, create_workflow, node, open_in_builder

pytestmark = pytest.mark.e2e
RUN_MS = 60_000


def test_rerun_from_a_node_then_read_the_run_and_its_diff(page: Page, app_url: str, tmp_path: Path) -> None:
    with admin_api(app_url) as api:
        workflow_id = create_workflow(api, f"Runs {uuid.uuid4().hex[:6]}", NOTES_GRAPH)
        first = api.post(f"/workflows/{workflow_id}/execute", json={"parameters": {"topic": "otters"}, "wait": True})
        assert first.status_code == 200 and first.json()["status"] == "succeeded", first.text

    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(f"/workflows/{workflow_id}")
    page.get_by_role("button", name="Run", exact=True).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("topic").fill("beavers")
    dialog.get_by_role("button", name="Start run").click()
    expect(node(page, "out").get_by_test_id("node-status")).to_have_attribute("data-status", "succeeded",
                                                                              timeout=RUN_MS)
    panel = page.get_by_role("region", name="Run")
    expect(panel.locator("#run-status")).to_contain_text("succeeded")
    expect(panel.get_by_role("button", name="Cancel run")).to_have_count(0)  # nothing to cancel once it ended
    beavers_run = panel.get_by_role("link", name="Open run").get_attribute("href")
    assert beavers_run and beavers_run.startswith("/runs/")

    # Re-run from the template node: a new run, the input step reused, the rest run again.
    node(page, "draft").click()
    output = page.get_by_role("region", name="Node output")
    expect(output).to_contain_text("Topic: beavers")
    output.get_by_text("Input", exact=True).click()  # what the node read, folded away until asked for
    expect(output).to_contain_text('"from": [')
    output.get_by_role("button", name="Re-run from here").click()
    expect(panel).to_contain_text("Re-running from draft")
    expect(panel.get_by_role("link", name="Open run")).not_to_have_attribute("href", beavers_run)
    expect(panel.locator("#run-status")).to_contain_text("succeeded", timeout=RUN_MS)
    panel.get_by_role("link", name="Open run").click()
    expect(page.locator("#run-status")).to_have_text("succeeded")
    expect(page.get_by_text("re-run from draft")).to_be_visible()
    expect(page.locator("#run-timeline .main-svg").first).to_be_attached(timeout=30_000)  # Plotly drew its SVG
    expect(page.locator("#run-timeline g.point, #run-timeline .bars path")).not_to_have_count(0)
    widths = page.locator("#run-timeline").evaluate(
        "box => [box.querySelector('.main-svg').getBoundingClientRect().width, box.getBoundingClientRect().width]")
    assert widths[0] >= 0.95 * widths[1], f"the timeline fills its section's width: {widths}"

    # The beavers run against the otters run before it: one line removed, one added.
    page.goto(beavers_run)
    diff = page.get_by_role("region", name="Diff")
    expect(diff.locator(".diff-removed")).to_have_text("- Topic: otters")
    expect(diff.locator(".diff-added")).to_have_text("+ Topic: beavers")
    expect(diff.locator(".diff-same")).to_have_count(3)
    steps = page.get_by_role("region", name="Steps")
    steps.get_by_role("button", name="Details of draft").click()
    expect(steps).to_contain_text('"from": [')  # the step's input: what it read from upstream
    documents = page.get_by_role("region", name="Output documents")
    expect(documents).to_contain_text("Topic: beavers")
    with page.expect_download() as download:
        documents.get_by_role("button", name="Download On beavers").click()
    saved = tmp_path / "doc.md"
    download.value.save_as(saved)
    assert saved.read_text() == "# Notes\n\nTopic: beavers\nEnd."
    page.screenshot(path=str(artifacts_dir() / "run-viewer.png"), full_page=True)

    # The workflow's run list has all three, newest first.
    page.goto(f"/workflows/{workflow_id}/runs")
    expect(page.get_by_text("Page 1 of 1 · 3 runs")).to_be_visible()
    expect(page.get_by_role("row").nth(1)).to_contain_text("from draft")


def test_an_address_naming_no_run_is_refused_clearly(page: Page) -> None:
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(f"/runs/{uuid.uuid4()}")
    expect(page.get_by_role("alert")).to_contain_text("There is no such run")
    page.goto("/runs/not-a-run")
    expect(page.get_by_role("alert")).to_contain_text("does not name a run")


APPROVAL_GRAPH = {
    "nodes": [{"id": "in", "type": "input", "config": {"fields": ["topic"]}, "position": {"x": 0, "y": 0}},
              {"id": "review", "type": "human_approval", "config": {"instructions": "Check {{ in.topic }}"},
               "position": {"x": 260, "y": 0}},
              {"id": "out", "type": "output", "config": {"title": "Approved"}, "position": {"x": 520, "y": 0}}],
    "edges": [{"source": "in", "target": "review"}, {"source": "review", "target": "out"}]}


def test_cancel_retry_and_approve_from_the_run_panel(page: Page, app_url: str) -> None:
    open_in_builder(page, app_url, "Approvals", APPROVAL_GRAPH)
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_role("dialog").get_by_label("topic").fill("the launch post")
    page.get_by_role("dialog").get_by_role("button", name="Start run").click()

    panel = page.get_by_role("region", name="Run")
    expect(panel.locator("#run-status")).to_contain_text("waiting", timeout=RUN_MS)
    expect(node(page, "review").get_by_test_id("node-status")).to_have_attribute("data-status", "waiting")
    expect(panel.get_by_role("button", name="Retry")).to_have_count(0)  # only once it has failed or stopped

    # Cancel while it waits; then retry: a new run that stops at the same approval.
    panel.get_by_role("button", name="Cancel run").click()
    expect(panel.locator("#run-status")).to_contain_text("cancelled")
    expect(panel.get_by_role("button", name="Approve")).to_have_count(0)
    first_run = panel.get_by_role("link", name="Open run").get_attribute("href")
    panel.get_by_role("button", name="Retry").click()
    expect(panel.get_by_role("link", name="Open run")).not_to_have_attribute("href", first_run or "")
    expect(panel.locator("#run-status")).to_contain_text("waiting", timeout=RUN_MS)

    panel.get_by_role("button", name="Approve").click()
    expect(panel).to_contain_text("Approved: the run continues.")
    expect(panel.locator("#run-status")).to_contain_text("succeeded", timeout=RUN_MS)
    expect(node(page, "out").get_by_test_id("node-status")).to_have_attribute("data-status", "succeeded")
    expect(panel.get_by_role("button", name="Cancel run")).to_have_count(0)


def test_html_in_an_output_document_stays_text(page: Page, app_url: str) -> None:
    markup = '# Report\n\n<b id="injected">bold</b><img src=x onerror="window.__pwned=1">'
    graph = {"nodes": [{"id": "draft", "type": "template", "config": {"template": markup}},
                       {"id": "out", "type": "output", "config": {"title": "Raw HTML"}}],
             "edges": [{"source": "draft", "target": "out"}]}
    with admin_api(app_url) as api:
        workflow_id = create_workflow(api, f"Markup {uuid.uuid4().hex[:6]}", graph)
        run = api.post(f"/workflows/{workflow_id}/execute", json={"wait": True})
        assert run.status_code == 200 and run.json()["status"] == "succeeded", run.text
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(f"/runs/{run.json()['id']}")
    documents = page.get_by_role("region", name="Output documents")
    expect(documents.get_by_role("heading", name="Report")).to_be_visible()  # Markdown is rendered
    expect(documents).to_contain_text('<b id="injected">bold</b>')  # HTML is shown as text
    expect(page.locator("#injected")).to_have_count(0)
    assert page.evaluate("window.__pwned === undefined")


SLOW_THEN_FAILING_GRAPH = {
    "nodes": [{"id": "wait", "type": "delay", "config": {"seconds": 4}, "position": {"x": 0, "y": 0}},
              {"id": "bad", "type": "template", "config": {"template": "{{ 1 // 0 }}"},
               "position": {"x": 260, "y": 0}}],
    "edges": [{"source": "wait", "target": "bad"}]}
DIVISION_ERROR = "the template failed: integer division or modulo by zero"


def test_a_running_badge_then_a_failed_one_showing_its_error_and_the_step_log(page: Page, app_url: str) -> None:
    open_in_builder(page, app_url, "Failing", SLOW_THEN_FAILING_GRAPH)
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_role("dialog").get_by_role("button", name="Start run").click()

    # Mid-run: the delay node's badge spins; the builder is photographed into the test artifacts.
    expect(node(page, "wait").get_by_test_id("node-status")).to_have_attribute("data-status", "running",
                                                                               timeout=RUN_MS)
    page.screenshot(path=str(artifacts_dir() / "builder-mid-run.png"), full_page=True)

    # The failed badge says why (cut short), the whole error in its tooltip.
    failed = node(page, "bad").get_by_test_id("node-status")
    expect(failed).to_have_attribute("data-status", "failed", timeout=RUN_MS)
    expect(failed).to_have_attribute("title", DIVISION_ERROR)
    expect(failed).to_contain_text("the template failed")
    expect(page.get_by_role("region", name="Run").locator("#run-status")).to_contain_text("failed")

    # Its log in the node panel: the attempt, the failure, and why it was not retried.
    node(page, "bad").click()
    log = page.get_by_role("region", name="Node output").get_by_role("region", name="Step log")
    expect(log).to_contain_text(f"ERROR attempt 1 failed: {DIVISION_ERROR}")
    expect(log).to_contain_text("not retried: this failure is not retryable")
    page.screenshot(path=str(artifacts_dir() / "builder-failed-run.png"), full_page=True)

    # The run viewer's step details show the same log.
    page.get_by_role("region", name="Run").get_by_role("link", name="Open run").click()
    steps = page.get_by_role("region", name="Steps")
    steps.get_by_role("button", name="Details of wait").click()
    expect(steps.get_by_role("region", name="Step log")).to_contain_text("attempt 1 succeeded in")
