"""GET /api/v3/runs/{id}/report: the run viewer's data through the API, with the same rules."""

from __future__ import annotations

import httpx

from models.user import Role
from tests.api.conftest import account
from tests.api.test_workflows_api import _create


async def test_report_diffs_against_the_previous_run_and_refuses_strangers(live: httpx.AsyncClient) -> None:
    await account(live, "admin@example.com", Role.ADMIN)
    editor = await account(live, "editor@example.com", Role.EDITOR)
    workflow_id = await _create(live, editor)
    for topic in ("tides", "winds"):
        answer = await live.post(f"/api/v3/workflows/{workflow_id}/execute",
                                 json={"parameters": {"topic": topic}, "wait": True}, headers=editor)
        assert answer.status_code == 200 and answer.json()["status"] == "succeeded", answer.text
    latest = (await live.get(f"/api/v3/workflows/{workflow_id}/runs", headers=editor)).json()["data"][0]

    report = await live.get(f"/api/v3/runs/{latest['id']}/report", headers=editor)
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["output"] == "Write about winds" and body["documents"][0]["content"] == "Write about winds"
    assert body["previous_run_id"] and body["previous_run_id"] != latest["id"]
    assert body["diff"] == [{"kind": "removed", "text": "Write about tides"},
                            {"kind": "added", "text": "Write about winds"}]

    assert (await live.get(f"/api/v3/runs/{latest['id']}/report")).status_code == 401
    missing = await live.get("/api/v3/runs/00000000-0000-0000-0000-000000000000/report", headers=editor)
    assert missing.status_code == 404 and missing.json()["error"]["message"]
