"""The document library in real Chromium: upload, extraction status, search, preview, and XSS payloads in
uploaded HTML and Markdown that never run."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, sign_in
from tests.unit.services.documents.files import make_pdf

pytestmark = pytest.mark.e2e
XSS_HTML = (b"<html><head><title>Hostile page</title><script>window.__xss = 'head'; alert('head')</script></head>"
            b"<body><h1>Hostile heading</h1><p>Text <img src=x onerror=\"window.__xss='img';alert('img')\"></p>"
            b"<a href=\"javascript:window.__xss='link'\">harmless link</a>"
            b"<svg onload=\"window.__xss='svg'\"></svg><iframe src=\"javascript:alert(1)\"></iframe></body></html>")
XSS_MARKDOWN = (b"# Hostile notes\n\n<script>window.__xss = 'md'; alert('md')</script>\n\n"
                b"<img src=x onerror=\"window.__xss='mdimg'\">\n\n<a href=\"javascript:window.__xss='a'\">go</a>\n\n"
                b"<details open ontoggle=\"window.__xss='toggle'\"><summary>more</summary>body</details>\n")


def _row(page: Page, title: str):  # type: ignore[no-untyped-def]
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=title, exact=True))


def test_uploads_extract_search_and_hostile_content_never_runs(page: Page) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    tag = uuid.uuid4().hex[:6]
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Documents").click()
    expect(page.get_by_label("Upload documents")).to_be_visible()

    page.locator("input[type=file]").set_input_files([
        {"name": f"hostile-{tag}.html", "mimeType": "text/html", "buffer": XSS_HTML},
        {"name": f"notes-{tag}.md", "mimeType": "text/markdown", "buffer": XSS_MARKDOWN},
        {"name": f"report-{tag}.pdf", "mimeType": "application/pdf",
         "buffer": make_pdf([f"Quarterly figures {tag} rose sharply."])},
    ])
    for title in (f"hostile-{tag}", f"notes-{tag}", f"report-{tag}"):
        expect(_row(page, title).get_by_text("ready")).to_be_visible(timeout=60_000)

    page.get_by_label("Search documents").fill(f"{tag} figures")
    expect(_row(page, f"report-{tag}")).to_be_visible()
    expect(_row(page, f"notes-{tag}")).to_have_count(0)
    page.get_by_label("Search documents").fill("")
    expect(_row(page, f"notes-{tag}")).to_be_visible()

    for title, heading in ((f"hostile-{tag}", "Hostile heading"), (f"notes-{tag}", "Hostile notes")):
        page.get_by_role("link", name=title, exact=True).click()
        preview = page.get_by_role("region", name="Document preview")
        expect(preview.get_by_role("heading", name=heading)).to_be_visible()
        scale = preview.get_by_role("heading", name=heading).evaluate(
            "h => parseFloat(getComputedStyle(h).fontSize) / parseFloat(getComputedStyle(h.parentElement).fontSize)")
        assert scale >= 1.3, f"the heading reads as a heading, not body text (font size times {scale})"
        expect(preview.locator("script, iframe, svg, [onerror], [onload], [ontoggle]")).to_have_count(0)
        for link in preview.get_by_role("link").all():
            assert not (link.get_attribute("href") or "").lower().startswith("javascript")
        if preview.get_by_role("link").count():
            preview.get_by_role("link").first.click()
        page.wait_for_timeout(500)  # time for an event handler to fire, had one survived
        assert page.evaluate("window.__xss") is None
        assert dialogs == []
        page.get_by_label("Close preview").click()

    page.get_by_role("link", name=f"report-{tag}", exact=True).click()
    expect(page.get_by_role("region", name="Document preview")).to_contain_text(f"Quarterly figures {tag}")
    page.get_by_role("tab", name="Versions").click()
    expect(page.get_by_text("Pick two versions")).to_be_visible()


RECORD_UPLOAD_ROWS = """() => {
  window.__rows = {};
  window.__recorder = setInterval(() => {
    for (const item of document.querySelectorAll('[aria-label="Uploads"] [role="listitem"]')) {
      const seen = window.__rows[item.getAttribute("aria-label")] ??= [];
      const text = item.innerText.replace(/\\s+/g, " ");
      if (seen[seen.length - 1] !== text) seen.push(text);
    }
  }, 15);
}"""


def test_each_dropped_file_gets_its_own_row_upload_progress_and_extraction_status(page: Page) -> None:
    tag = uuid.uuid4().hex[:6]
    files = [{"name": f"part{i}-{tag}.md", "mimeType": "text/markdown",
              "buffer": f"# Part {i} {tag}\n\n".encode() + b"many words " * 30_000} for i in range(3)]
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto("/documents")
    expect(page.get_by_label("Upload documents")).to_be_visible()
    # About 330 KB per file at 300 KB/s: each file's upload takes a second, so its progress can be seen.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                  "uploadThroughput": 300_000})
    page.evaluate(RECORD_UPLOAD_ROWS)
    page.locator("input[type=file]").set_input_files(files)  # type: ignore[arg-type]

    uploads = page.get_by_role("list", name="Uploads")
    rows = [uploads.get_by_role("listitem", name=str(file["name"]), exact=True) for file in files]
    for row in rows:
        expect(row).to_be_visible()
    # The first file is a library document, extracting or done, while the last is still on its way.
    expect(rows[0]).to_contain_text(re.compile("queued|extracting|ready"), timeout=30_000)
    assert re.search("waiting|uploading", rows[2].inner_text()), rows[2].inner_text()
    for row in rows:
        expect(row).to_contain_text("ready", timeout=60_000)
        expect(row.get_by_role("progressbar")).to_have_count(1)
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                  "uploadThroughput": -1})
    seen: dict[str, list[str]] = page.evaluate("clearInterval(window.__recorder), window.__rows")
    for file in files:
        history = seen[str(file["name"])]
        partial = [int(m.group(1)) for text in history if (m := re.search(r"uploading (\d+)%", text))]
        assert any(0 < percent < 100 for percent in partial), history
        assert history[-1].endswith("ready"), history
    for file in files:
        expect(_row(page, str(file["name"]).removesuffix(".md")).get_by_text("ready")).to_be_visible()


def test_more_files_at_once_than_allowed_are_refused_with_a_message(page: Page) -> None:
    # DOCUMENT_MAX_FILES_PER_UPLOAD is 10 by default; the drop zone itself sets no limit (past one it
    # would reject the whole drop without a word), so the page says what went wrong.
    tag = uuid.uuid4().hex[:6]
    files = [{"name": f"many{i}-{tag}.md", "mimeType": "text/markdown", "buffer": f"# {i}\n".encode()}
             for i in range(11)]
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto("/documents")
    expect(page.get_by_label("Upload documents")).to_be_visible()
    page.locator("input[type=file]").set_input_files(files)  # type: ignore[arg-type]
    expect(page.get_by_text("11 files at once is too many; upload at most 10.")).to_be_visible()
    expect(page.get_by_role("list", name="Uploads")).to_have_count(0)
    expect(page.get_by_text(f"many0-{tag}")).to_have_count(0)


def test_a_workflow_runs_on_the_selected_documents_with_per_document_status(page: Page, app_url: str) -> None:
    tag = uuid.uuid4().hex[:6]
    login = httpx.post(f"{app_url}/api/v3/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
                       timeout=30).json()
    headers = {"Authorization": f"Bearer {login['access_token']}"}
    graph = {"nodes": [{"id": "in", "type": "input", "config": {}},
                       {"id": "sum", "type": "template", "config": {"template": "Shout: {{ in.content | upper }}"}},
                       {"id": "out", "type": "output", "config": {"title": "Shout {{ in.document.title }}"}}],
             "edges": [{"source": "in", "target": "sum"}, {"source": "sum", "target": "out"}]}
    created = httpx.post(f"{app_url}/api/v3/workflows", headers=headers, timeout=30,
                         json={"name": f"Shouter {tag}", "graph": graph})
    assert created.status_code == 201, created.text
    uploaded = httpx.post(f"{app_url}/api/v3/documents", headers=headers, timeout=30,
                          files=[("files", (f"quiet-{tag}.md", b"quiet words")),
                                 ("files", (f"calm-{tag}.md", b"calm words"))])
    assert uploaded.status_code == 201, uploaded.text

    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto("/documents")
    for title in (f"quiet-{tag}", f"calm-{tag}"):
        expect(_row(page, title).get_by_text("ready")).to_be_visible(timeout=60_000)
        page.get_by_role("checkbox", name=f"Select {title}").click()
    expect(page.get_by_text("2 selected")).to_be_visible()
    page.get_by_role("combobox", name="Workflow to run").click()
    page.get_by_role("option", name=f"{created.json()['id']} · Shouter {tag}").click()
    page.get_by_role("button", name="Run workflow on these").click()

    progress = page.get_by_role("status", name="Batch progress")
    expect(progress).to_contain_text("2 of 2 done", timeout=60_000)
    expect(progress.get_by_text("succeeded")).to_have_count(2)
    page.get_by_label("Search documents").fill(f"shout {tag}")
    expect(_row(page, f"Shout quiet-{tag}")).to_be_visible()


def test_a_file_uploaded_in_the_run_dialog_becomes_the_runs_document_input(page: Page, app_url: str) -> None:
    tag = uuid.uuid4().hex[:6]
    login = httpx.post(f"{app_url}/api/v3/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
                       timeout=30).json()
    graph = {"nodes": [{"id": "in", "type": "input", "config": {"document_fields": ["report"]}},
                       {"id": "echo", "type": "template", "config": {"template": "Read: {{ in.report.title }} "
                                                                                 "says {{ in.content }}"}},
                       {"id": "out", "type": "output", "config": {"title": "Echo {{ in.report.title }}"}}],
             "edges": [{"source": "in", "target": "echo"}, {"source": "echo", "target": "out"}]}
    created = httpx.post(f"{app_url}/api/v3/workflows", headers={"Authorization": f"Bearer {login['access_token']}"},
                         json={"name": f"Echo {tag}", "graph": graph}, timeout=30)
    assert created.status_code == 201, created.text

    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(f"/workflows/{created.json()['id']}")
    page.get_by_role("button", name="Run").click()
    dialog = page.get_by_role("dialog")
    dialog.locator("input[type=file]").set_input_files(
        [{"name": f"brief-{tag}.md", "mimeType": "text/markdown", "buffer": f"Tide tables {tag}".encode()}])
    expect(dialog.get_by_role("status", name="Document upload")).to_contain_text("ready: chosen for report",
                                                                                 timeout=60_000)
    expect(dialog.get_by_label("report (document)")).to_have_value(re.compile(r"[0-9a-f-]{36}"))
    dialog.get_by_role("button", name="Start run").click()
    expect(page.locator("#run-status")).to_contain_text("succeeded", timeout=60_000)

    page.goto("/documents")
    page.get_by_label("Search documents").fill(f"echo brief-{tag}")
    page.get_by_role("link", name=f"Echo brief-{tag}", exact=True).click()
    expect(page.get_by_role("region", name="Document preview")).to_contain_text(
        f"Read: brief-{tag} says Tide tables {tag}")
