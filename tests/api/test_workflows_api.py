"""/api/v3/workflows, /runs and /hooks against a real database, with runs executing in-process."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from models.user import Role
from tests.api.conftest import account

Headers = dict[str, str]
GRAPH = {"nodes": [{"id": "in", "type": "input", "config": {"fields": ["topic"]}, "position": {"x": 0, "y": 0}},
                   {"id": "draft", "type": "template", "config": {"template": "Write about {{ in.topic }}"}},
                   {"id": "out", "type": "output", "config": {"format": "markdown"}}],
         "edges": [{"source": "in", "target": "draft"}, {"source": "draft", "target": "out"}]}


@pytest.fixture
async def editor(live: httpx.AsyncClient) -> Headers:
    await account(live, "admin@example.com", Role.ADMIN)
    return await account(live, "editor@example.com", Role.EDITOR)


async def _create(http: httpx.AsyncClient, headers: Headers, graph: dict[str, Any] = GRAPH) -> int:
    answer = await http.post("/api/v3/workflows", json={"name": "Blog", "tags": ["Blog"], "graph": graph},
                             headers=headers)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


async def test_create_execute_and_read_the_run(live: httpx.AsyncClient, editor: Headers) -> None:
    workflow_id = await _create(live, editor)
    answer = await live.post(f"/api/v3/workflows/{workflow_id}/execute",
                             json={"parameters": {"topic": "tides"}, "wait": True}, headers=editor)
    assert answer.status_code == 200, answer.text
    run = answer.json()
    assert run["status"] == "succeeded" and [s["node_id"] for s in run["steps"]] == ["in", "draft", "out"]
    assert run["steps"][-1]["output"]["content"] == "Write about tides"
    fetched = await live.get(f"/api/v3/runs/{run['id']}", headers=editor)
    assert fetched.json()["documents"][0]["node_id"] == "out"
    draft_log = fetched.json()["steps"][1]["logs"]  # each step's log: its attempts, in order, timed
    assert draft_log[0]["message"] == "attempt 1 started"
    assert draft_log[-1]["message"].startswith("attempt 1 succeeded in ") and draft_log[-1]["level"] == "info"
    assert draft_log[-1]["at_ms"] >= draft_log[0]["at_ms"] >= 0
    listed = await live.get(f"/api/v3/workflows/{workflow_id}/runs", headers=editor)
    assert listed.json()["count"] == 1
    stats = (await live.get(f"/api/v3/workflows/{workflow_id}/analytics", headers=editor)).json()
    assert stats["by_status"] == {"succeeded": 1} and stats["success_rate"] == 1.0


async def test_execute_without_wait_answers_202_with_the_run_id(live: httpx.AsyncClient, editor: Headers) -> None:
    workflow_id = await _create(live, editor)
    answer = await live.post("/api/v3/advanced/workflows/execute",
                             json={"workflow_id": workflow_id, "parameters": {"topic": "x"}}, headers=editor)
    assert answer.status_code == 202 and answer.json()["run_id"]


async def test_missing_parameter_is_a_422_naming_it(live: httpx.AsyncClient, editor: Headers) -> None:
    workflow_id = await _create(live, editor)
    answer = await live.post(f"/api/v3/workflows/{workflow_id}/execute", json={"parameters": {}}, headers=editor)
    assert answer.status_code == 422 and "topic" in answer.json()["error"]["message"]


async def test_a_page_of_workflows_counts_every_match_including_past_the_last_page(
        live: httpx.AsyncClient, editor: Headers) -> None:
    for _ in range(3):
        await _create(live, editor)
    first = (await live.get("/api/v3/workflows?limit=2", headers=editor)).json()
    assert (len(first["data"]), first["count"]) == (2, 3)
    last = (await live.get("/api/v3/workflows?limit=2&offset=2", headers=editor)).json()
    assert (len(last["data"]), last["count"]) == (1, 3)
    beyond = (await live.get("/api/v3/workflows?limit=2&offset=10", headers=editor)).json()
    assert (beyond["data"], beyond["count"]) == ([], 3)
    assert (await live.get("/api/v3/workflows?search=nothing-like-this", headers=editor)).json()["count"] == 0
    # An offset past what the database counts in is the caller's mistake, not a 500.
    huge = await live.get(f"/api/v3/workflows?offset={10**20}", headers=editor)
    assert huge.status_code == 422, huge.text


async def test_invalid_graph_is_a_422_with_problems_per_node_and_nothing_is_saved(
        live: httpx.AsyncClient, editor: Headers) -> None:
    bad = {"nodes": [{"id": "a", "type": "nope"}], "edges": [{"source": "a", "target": "ghost"}]}
    answer = await live.post("/api/v3/workflows", json={"name": "Bad", "graph": bad}, headers=editor)
    assert answer.status_code == 422
    assert {problem["node_id"] for problem in answer.json()["error"]["details"]} == {"a", "ghost"}
    assert (await live.get("/api/v3/workflows", headers=editor)).json()["count"] == 0


async def test_viewer_reads_but_cannot_create_or_execute(live: httpx.AsyncClient, editor: Headers) -> None:
    workflow_id = await _create(live, editor)
    viewer = await account(live, "viewer@example.com", Role.VIEWER)
    assert (await live.get(f"/api/v3/workflows/{workflow_id}", headers=viewer)).status_code == 200
    assert (await live.post("/api/v3/workflows", json={"name": "x"}, headers=viewer)).status_code == 403
    answer = await live.post(f"/api/v3/workflows/{workflow_id}/execute", json={}, headers=viewer)
    assert answer.status_code == 403


async def test_graph_versions_nodes_and_conflicts(live: httpx.AsyncClient, editor: Headers) -> None:
    workflow_id = await _create(live, editor)
    added = await live.post(f"/api/v3/workflows/{workflow_id}/nodes", headers=editor, json={
        "id": "note", "type": "template", "config": {"template": "{{ draft.content }}!"}, "connect_from": ["draft"]})
    assert added.status_code == 201 and added.json()["version"] == 2
    patched = await live.patch(f"/api/v3/workflows/{workflow_id}/nodes/note", headers=editor,
                               json={"config": {"template": "{{ draft.content }}?"}})
    assert patched.json()["version"] == 3
    stale = await live.put(f"/api/v3/workflows/{workflow_id}/graph", headers=editor,
                           json={"graph": GRAPH, "base_version": 2})
    assert stale.status_code == 409 and "version 3" in stale.json()["error"]["message"]
    deleted = await live.delete(f"/api/v3/workflows/{workflow_id}/nodes/note", headers=editor)
    assert deleted.json()["version"] == 4
    versions = (await live.get(f"/api/v3/workflows/{workflow_id}/versions", headers=editor)).json()
    assert [v["number"] for v in versions] == [4, 3, 2, 1]
    old = await live.get(f"/api/v3/workflows/{workflow_id}/graph?version=1", headers=editor)
    assert old.json()["graph"]["nodes"][1]["id"] == "draft"


async def test_approve_of_a_run_that_is_not_waiting_is_a_409(live: httpx.AsyncClient, editor: Headers) -> None:
    workflow_id = await _create(live, editor)
    run = (await live.post(f"/api/v3/workflows/{workflow_id}/execute", headers=editor,
                           json={"parameters": {"topic": "x"}, "wait": True})).json()
    answer = await live.post(f"/api/v3/runs/{run['id']}/approve", headers=editor)
    assert answer.status_code == 409 and "not waiting" in answer.json()["error"]["message"]
    missing = await live.get("/api/v3/runs/00000000-0000-0000-0000-000000000000", headers=editor)
    assert missing.status_code == 404


async def test_webhook_starts_a_run_with_its_body_as_parameters(live: httpx.AsyncClient, editor: Headers) -> None:
    workflow_id = await _create(live, editor)
    hook = (await live.post(f"/api/v3/workflows/{workflow_id}/webhooks", headers=editor)).json()
    answer = await live.post(hook["url_path"], json={"topic": "from a hook"})
    assert answer.status_code == 202
    run = await live.get(f"/api/v3/runs/{answer.json()['run_id']}", headers=editor)
    assert run.json()["trigger"] == "webhook" and run.json()["parameters"] == {"topic": "from a hook"}
    assert (await live.post("/api/v3/hooks/not-a-token", json={})).status_code == 404


async def test_export_then_import_makes_an_equal_draft(live: httpx.AsyncClient, editor: Headers) -> None:
    workflow_id = await _create(live, editor)
    exported = (await live.get(f"/api/v3/workflows/{workflow_id}/export", headers=editor)).json()
    imported = await live.post("/api/v3/workflows/import", json=exported, headers=editor)
    assert imported.status_code == 201
    copy = (await live.get(f"/api/v3/workflows/{imported.json()['id']}", headers=editor)).json()
    assert copy["graph"] == exported["graph"] and copy["status"] == "draft"


async def test_node_types_carry_their_json_schema(live: httpx.AsyncClient, editor: Headers) -> None:
    types = {entry["type"]: entry for entry in (await live.get("/api/v3/workflows/node-types", headers=editor)).json()}
    assert {"input", "output", "ai_generate", "ai_analyze", "template", "condition", "http_request", "notify",
            "human_approval", "delay", "merge", "map"} <= set(types)
    assert types["condition"]["output_handles"] == ["true", "false"]
    assert "prompt" in types["ai_generate"]["config_schema"]["properties"]


async def test_archive_hides_the_workflow_from_the_list(live: httpx.AsyncClient, editor: Headers) -> None:
    workflow_id = await _create(live, editor)
    assert (await live.delete(f"/api/v3/workflows/{workflow_id}", headers=editor)).json()["status"] == "archived"
    assert (await live.get("/api/v3/workflows", headers=editor)).json()["count"] == 0
    archived = await live.get("/api/v3/workflows?status=archived", headers=editor)
    assert archived.json()["count"] == 1
