"""GET /api/v3/audit: every mutating call leaves an entry with actor, target, IP and request id; filters and CSV."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import httpx

from services.auth.audit_log import csv_safe
from tests.api.conftest import Headers

SignUp = Callable[[str], Awaitable[Headers]]
GRAPH = {"nodes": [{"id": "in", "type": "input", "config": {"fields": ["topic"]}},
                   {"id": "out", "type": "output", "config": {}}],
         "edges": [{"source": "in", "target": "out"}]}


async def _entries(client: httpx.AsyncClient, admin: Headers, **params: str) -> list[dict[str, object]]:
    answer = await client.get("/api/v3/audit", headers=admin, params=params)
    assert answer.status_code == 200, answer.text
    data: list[dict[str, object]] = answer.json()["data"]
    return data


async def test_mutations_are_audited_with_actor_target_ip_and_request_id(
        client: httpx.AsyncClient, sign_up: SignUp) -> None:
    admin = await sign_up("root@example.com")
    viewer = await sign_up("vera@example.com")
    viewer_id = (await client.get("/api/v3/auth/me", headers=viewer)).json()["id"]
    traced = {**admin, "X-Request-ID": "trace-role-change-1"}
    changed = await client.patch(f"/api/v3/auth/users/{viewer_id}", headers=traced, json={"role": "editor"})
    assert changed.status_code == 200 and changed.headers["X-Request-ID"] == "trace-role-change-1"
    created = await client.post("/api/v3/workflows", headers=admin, json={"name": "Audited", "graph": GRAPH})
    workflow_id = created.json()["id"]
    assert re.fullmatch(r"[0-9a-f]{32}", created.headers["X-Request-ID"])  # generated when not sent
    hook = await client.post(f"/api/v3/workflows/{workflow_id}/webhooks", headers=admin)
    assert hook.status_code == 201
    schedule = {"cron": "0 9 * * 1", "timezone": "UTC", "parameters": {"topic": "x"}}
    assert (await client.post(f"/api/v3/workflows/{workflow_id}/schedules", headers=admin,
                              json=schedule)).status_code == 201
    assert (await client.post("/api/v3/advanced/cache/clear", headers=admin)).status_code == 200

    role_change = (await _entries(client, admin, action="role_change"))[0]
    assert role_change["actor_email"] == "root@example.com" and role_change["target"] == f"user:{viewer_id}"
    assert role_change["ip"] == "127.0.0.1" and role_change["request_id"] == "trace-role-change-1"
    on_workflow = await _entries(client, admin, target=f"workflow:{workflow_id}")
    assert {e["action"] for e in on_workflow} == {"workflow_created", "webhook_created", "schedule_created"}
    creation = next(e for e in on_workflow if e["action"] == "workflow_created")
    assert creation["request_id"] == created.headers["X-Request-ID"]
    assert hook.json()["token"] not in str(on_workflow)  # the secret URL is never kept in the log
    assert (await _entries(client, admin, action="cache_cleared"))[0]["target"] == "cache:*"
    actions = (await client.get("/api/v3/audit/actions", headers=admin)).json()
    assert {"register", "login", "role_change", "workflow_created", "cache_cleared"} <= set(actions)


async def test_a_forged_request_id_is_replaced(client: httpx.AsyncClient, sign_up: SignUp) -> None:
    admin = await sign_up("forge@example.com")
    answer = await client.get("/api/v3/auth/me", headers={**admin, "X-Request-ID": "x" * 65})
    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["X-Request-ID"])
    answer = await client.get("/api/v3/auth/me", headers={**admin, "X-Request-ID": "a b\"c"})
    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["X-Request-ID"])


async def test_filters_pagination_and_roles(client: httpx.AsyncClient, sign_up: SignUp) -> None:
    admin = await sign_up("boss@example.com")
    editor = await sign_up("ed@example.com")
    for name in ("One", "Two", "Three"):
        await client.post("/api/v3/workflows", headers=admin, json={"name": name})
    page = await client.get("/api/v3/audit", headers=admin,
                            params={"actor": "boss@", "action": "workflow_created", "limit": 2, "offset": 0})
    assert page.json()["count"] == 3 and len(page.json()["data"]) == 2
    rest = await client.get("/api/v3/audit", headers=admin,
                            params={"actor": "boss@", "action": "workflow_created", "limit": 2, "offset": 2})
    assert len(rest.json()["data"]) == 1
    seen = {e["id"] for e in page.json()["data"]} | {e["id"] for e in rest.json()["data"]}
    assert len(seen) == 3
    assert await _entries(client, admin, actor="ed@example.com", action="workflow_created") == []
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert await _entries(client, admin, since=future) == []
    past = (datetime.now(UTC) - timedelta(hours=1)).replace(tzinfo=None).isoformat()
    assert len(await _entries(client, admin, since=past, action="workflow_created")) == 3
    backwards = await client.get("/api/v3/audit", headers=admin, params={"since": future, "until": past})
    assert backwards.status_code == 422
    for path in ("/api/v3/audit", "/api/v3/audit/actions", "/api/v3/audit/export"):
        denied = await client.get(path, headers=editor)
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "permission_denied"


async def test_csv_export_has_every_match(client: httpx.AsyncClient, sign_up: SignUp) -> None:
    admin = await sign_up("csv@example.com")
    await client.post("/api/v3/workflows", headers=admin, json={"name": "Exported"})
    answer = await client.get("/api/v3/audit/export", headers=admin, params={"actor": "csv@example.com"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert {r["action"] for r in rows} == {"register", "login", "workflow_created"}
    assert all(r["actor"] == "csv@example.com" and r["ip"] == "127.0.0.1" and r["request_id"] for r in rows)


def test_csv_cells_that_start_a_formula_are_read_as_text() -> None:
    assert csv_safe("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert csv_safe("-1+2") == "'-1+2" and csv_safe("workflow:1") == "workflow:1"
