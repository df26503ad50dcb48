"""The documents API on both databases: multipart uploads, extraction, search, versions, export, diff, IDOR."""

from __future__ import annotations

import io
import re

import docx
import httpx
import pytest
from pypdf import PdfReader

from models.user import Role
from services.documents.processing import wait_for_extractions
from tests.api.conftest import Headers, account
from tests.unit.services.documents.files import make_docx, make_pdf

pytestmark = pytest.mark.usefixtures("live_db")
XSS_MARKDOWN = (b"# Notes\n\n<script>window.__xss = 1</script>\n\n<img src=x onerror=\"window.__xss = 2\">\n\n"
                b"[click me](javascript:window.__xss=3)\n\n<a href=\"JaVaScRiPt:alert(1)\">two</a>\n")


async def _upload(http: httpx.AsyncClient, headers: Headers, *files: tuple[str, bytes], tags: str = "") -> list[dict]:
    response = await http.post("/api/v3/documents", headers=headers, data={"tags": tags},
                               files=[("files", (name, data)) for name, data in files])
    assert response.status_code == 201, response.text
    await wait_for_extractions()
    return list(response.json())


async def test_several_files_upload_at_once_and_are_extracted(live: httpx.AsyncClient) -> None:
    ada = await account(live, "ada@example.com", Role.EDITOR)
    created = await _upload(live, ada, ("report.pdf", make_pdf(["Otters hold hands while sleeping."])),
                            ("terms.docx", make_docx(title="Terms", heading="Scope", paragraph_bold="all rivers",
                                                     table=[["a", "b"], ["1", "2"]])),
                            ("virus.exe", b"MZ"), tags="Research, rivers")
    assert [d["status"] for d in created] == ["pending", "pending", "failed"]
    assert created[0]["tags"] == ["research", "rivers"]

    page = (await live.get("/api/v3/documents", headers=ada)).json()
    by_name = {d["original_name"]: d for d in page["data"]}
    assert page["count"] == 3
    assert by_name["report.pdf"]["status"] == "ready" and by_name["report.pdf"]["pages"] == 1
    assert by_name["terms.docx"]["status"] == "ready"
    assert "not a file type" in by_name["virus.exe"]["error"]
    detail = (await live.get(f"/api/v3/documents/{by_name['report.pdf']['id']}", headers=ada)).json()
    assert "Otters hold hands while sleeping." in detail["content"]
    original = await live.get(f"/api/v3/documents/{by_name['report.pdf']['id']}/original", headers=ada)
    assert original.content.startswith(b"%PDF") and "report.pdf" in original.headers["content-disposition"]


async def test_search_highlights_and_filters(live: httpx.AsyncClient) -> None:
    ada = await account(live, "ada@example.com", Role.EDITOR)
    await _upload(live, ada, ("otters.md", b"# Otters\n\nSea otters use stones as tools."), tags="animals")
    await _upload(live, ada, ("budget.md", b"# Budget\n\nThe budget mentions no animals."), tags="finance")

    hits = (await live.get("/api/v3/documents", params={"q": "stones"}, headers=ada)).json()
    assert [d["title"] for d in hits["data"]] == ["otters"] and hits["count"] == 1
    assert "**stones**" in hits["data"][0]["snippet"]
    tagged = (await live.get("/api/v3/documents", params={"tag": "finance"}, headers=ada)).json()
    assert [d["title"] for d in tagged["data"]] == ["budget"]
    paged = (await live.get("/api/v3/documents", params={"limit": 1, "offset": 1}, headers=ada)).json()
    assert paged["count"] == 2 and len(paged["data"]) == 1


async def test_edits_make_versions_that_diff_and_export(live: httpx.AsyncClient) -> None:
    ada = await account(live, "ada@example.com", Role.EDITOR)
    [doc] = await _upload(live, ada, ("plan.md", b"# Plan\n\nline one\nline two\n"))
    url = f"/api/v3/documents/{doc['id']}"
    edited = await live.patch(url, headers=ada, json={"content": "# Plan\n\nline one\nline 2\nline three\n",
                                                      "title": "Plan B", "tags": ["draft"]})
    assert edited.status_code == 200 and edited.json()["current_version"] == 2 and edited.json()["title"] == "Plan B"

    versions = (await live.get(f"{url}/versions", headers=ada)).json()
    assert [v["number"] for v in versions] == [2, 1]
    diff = (await live.get(f"{url}/diff", params={"from": 1, "to": 2}, headers=ada)).json()
    assert diff["added"] == 2 and diff["removed"] == 1
    assert {"kind": "changed", "left": "line two", "right": "line 2", "left_no": 4, "right_no": 4} in diff["rows"]
    assert "+line three" in diff["unified"]
    assert (await live.get(f"{url}/diff", params={"from": 1, "to": 9}, headers=ada)).status_code == 404

    md = await live.get(f"{url}/export", params={"format": "md", "version": 1}, headers=ada)
    assert md.text == "# Plan\n\nline one\nline two"
    pdf = await live.get(f"{url}/export", params={"format": "pdf"}, headers=ada)
    assert pdf.headers["content-type"] == "application/pdf"
    assert "line three" in "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    word = await live.get(f"{url}/export", params={"format": "docx"}, headers=ada)
    assert "line three" in "\n".join(p.text for p in docx.Document(io.BytesIO(word.content)).paragraphs)
    html = await live.get(f"{url}/export", params={"format": "html"}, headers=ada)
    assert "<h1>Plan</h1>" in html.text
    assert (await live.get(f"{url}/export", params={"format": "exe"}, headers=ada)).status_code == 422


async def test_scripts_handlers_and_javascript_links_never_survive_rendering(live: httpx.AsyncClient) -> None:
    ada = await account(live, "ada@example.com", Role.EDITOR)
    [doc] = await _upload(live, ada, ("xss.md", XSS_MARKDOWN))
    rendered = (await live.get(f"/api/v3/documents/{doc['id']}/html", headers=ada)).json()["html"]
    exported = (await live.get(f"/api/v3/documents/{doc['id']}/export", params={"format": "html"},
                               headers=ada)).text
    for html in (rendered, exported):
        lowered = html.lower()
        assert "<script" not in lowered and "onerror" not in lowered
        assert not re.search(r"""(href|src)\s*=\s*["']?\s*javascript:""", lowered)
    assert "<h1>Notes</h1>" in rendered and '<a rel="noopener noreferrer nofollow">two</a>' in rendered


async def test_another_user_cannot_read_export_diff_edit_or_delete_a_document(live: httpx.AsyncClient) -> None:
    ada = await account(live, "ada@example.com", Role.EDITOR)
    bob = await account(live, "bob@example.com", Role.EDITOR)
    admin = await account(live, "root@example.com", Role.ADMIN)
    [doc] = await _upload(live, ada, ("secret.md", b"# Secret\n\nthe combination is 1234"))
    url = f"/api/v3/documents/{doc['id']}"

    for method, path, params in [("GET", "", None), ("GET", "/versions", None), ("GET", "/html", None),
                                 ("GET", "/export", {"format": "pdf"}), ("GET", "/diff", {"from": 1, "to": 1}),
                                 ("GET", "/original", None), ("DELETE", "", None)]:
        response = await live.request(method, url + path, params=params, headers=bob)
        assert response.status_code == 404, (method, path, response.text)
        assert "1234" not in response.text
    assert (await live.patch(url, json={"title": "mine"}, headers=bob)).status_code == 404
    assert (await live.get("/api/v3/documents", params={"q": "combination"}, headers=bob)).json()["count"] == 0
    assert (await live.get(url, headers=admin)).status_code == 200  # admins see every document
    assert (await live.get(url, headers=ada)).json()["title"] == "secret"


async def test_a_viewer_cannot_upload_and_uploads_need_a_token(live: httpx.AsyncClient) -> None:
    viewer = await account(live, "val@example.com", Role.VIEWER)
    files = [("files", ("a.md", b"# a"))]
    assert (await live.post("/api/v3/documents", headers=viewer, files=files)).status_code == 403
    assert (await live.post("/api/v3/documents", files=files)).status_code == 401


async def test_an_upload_over_the_request_limit_is_refused_before_it_is_read(live: httpx.AsyncClient,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.settings_env import settings_env
    ada = await account(live, "ada@example.com", Role.EDITOR)
    configure = next(settings_env(monkeypatch, ("DOCUMENT_MAX_MB", "DOCUMENT_MAX_FILES_PER_UPLOAD")))
    configure(DOCUMENT_MAX_MB="0.01", DOCUMENT_MAX_FILES_PER_UPLOAD="1")
    response = await live.post("/api/v3/documents", headers=ada, files=[("files", ("big.md", b"x" * 200_000))])
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"
    small = await live.post("/api/v3/documents", headers=ada, files=[("files", ("ok.md", b"# fine"))])
    assert small.status_code == 201  # multipart passes the JSON-only guard on this route


async def test_a_batch_run_over_documents_reports_each_and_only_to_its_starter(live: httpx.AsyncClient) -> None:
    from services.workflows import runtime

    ada = await account(live, "ada@example.com", Role.EDITOR)
    bob = await account(live, "bob@example.com", Role.EDITOR)
    graph = {"nodes": [{"id": "in", "type": "input", "config": {}},
                       {"id": "out", "type": "output", "config": {"title": "Copy of {{ in.document.title }}"}}],
             "edges": [{"source": "in", "target": "out"}]}
    workflow = (await live.post("/api/v3/workflows", headers=ada, json={"name": "Copier", "graph": graph})).json()
    [doc] = await _upload(live, ada, ("memo.md", b"# Memo\n\nkeep this"))
    [bobs] = await _upload(live, bob, ("private.md", b"bob only"))

    started = await live.post("/api/v3/documents/batch-runs", headers=ada,
                              json={"workflow_id": workflow["id"], "document_ids": [doc["id"], bobs["id"]]})
    assert started.status_code == 201, started.text
    assert [item["status"] for item in started.json()["items"]] == ["queued", "refused"]
    dispatcher = runtime.get_dispatcher()
    assert isinstance(dispatcher, runtime.InProcessDispatcher)
    await dispatcher.drain()

    status = await live.get(f"/api/v3/documents/batch-runs/{started.json()['batch_id']}", headers=ada)
    assert status.json()["done"] == status.json()["total"] == 1
    [item] = status.json()["items"]
    assert item["status"] == "succeeded" and len(item["output_document_ids"]) == 1
    copy = (await live.get(f"/api/v3/documents/{item['output_document_ids'][0]}", headers=ada)).json()
    assert copy["title"] == "Copy of memo" and copy["content"] == "# Memo\n\nkeep this" and copy["source"] == "run"
    hidden = await live.get(f"/api/v3/documents/batch-runs/{started.json()['batch_id']}", headers=bob)
    assert hidden.status_code == 404


async def test_an_upload_that_is_not_multipart_is_refused_with_what_to_send(live: httpx.AsyncClient) -> None:
    ada = await account(live, "ada@example.com", Role.EDITOR)
    response = await live.post("/api/v3/documents", headers={**ada, "Content-Type": "text/plain"}, content=b"raw")
    assert response.status_code == 415 and "multipart/form-data" in response.json()["error"]["message"]
