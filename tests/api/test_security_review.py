"""Security review: another user's objects (IDOR), role escalation, and tampered, expired or revoked tokens.

Workspace workflows and their runs are shared: every member reads them and editors run them (the
README's roles). A private workflow, its runs, schedules and webhooks are its owner's and the
admins'; to anyone else they do not exist (404, never listed). What belongs to one person —
private workflows, notifications, the inbox, an account's role, its sessions — is checked here
against a second account.
"""

from __future__ import annotations

import base64
import json
import uuid

import httpx
from joserfc import jwt
from joserfc.jwk import OctKey

from models.user import Role
from services.settings import get_settings
from tests.api.conftest import account

Headers = dict[str, str]
N = "/api/v3/advanced/notifications"
SAM = {"email": "sam@example.com", "password": "amber-falcon-lantern-42"}


def _bearer(token: str) -> Headers:
    return {"Authorization": f"Bearer {token}"}


def _token_of(headers: Headers) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


async def test_another_users_notifications_are_invisible_and_untouchable(live: httpx.AsyncClient) -> None:
    await account(live, "admin@example.com", Role.ADMIN)
    alice = await account(live, "alice@example.com", Role.EDITOR)
    bob = await account(live, "bob@example.com", Role.EDITOR)
    sent = await live.post(f"{N}/send", headers=alice, json={"channel": "in_app", "subject": "Private",
                                                              "message": "for Alice only"})
    assert sent.status_code == 202, sent.text
    notification_id = sent.json()["notification_id"]
    assert (await live.get(f"{N}/{notification_id}", headers=alice)).status_code == 200
    assert (await live.get(f"{N}/{notification_id}", headers=bob)).status_code == 404
    for action in ("read", "unread", "archive"):
        answer = await live.post(f"/api/v3/inbox/{notification_id}/{action}", headers=bob)
        assert answer.status_code == 404, action
    assert (await live.post(f"{N}/{notification_id}/retry", headers=bob)).status_code == 404
    assert notification_id not in str((await live.get("/api/v3/inbox", headers=bob)).json())
    assert notification_id not in str((await live.get(f"{N}/history", headers=bob)).json())
    # Alice's item is untouched by Bob's attempts.
    inbox = (await live.get("/api/v3/inbox", headers=alice)).json()
    assert inbox["unread"] == 1 and inbox["data"][0]["id"] == notification_id


async def test_a_private_workflow_and_its_runs_do_not_exist_for_other_members(live: httpx.AsyncClient) -> None:
    admin = await account(live, "admin@example.com", Role.ADMIN)
    alice = await account(live, "alice@example.com", Role.EDITOR)
    bob = await account(live, "bob@example.com", Role.EDITOR)
    graph = {"nodes": [{"id": "in", "type": "input", "config": {"fields": []}},
                       {"id": "ok", "type": "human_approval", "config": {}}],
             "edges": [{"source": "in", "target": "ok"}]}
    created = await live.post("/api/v3/workflows", headers=alice,
                              json={"name": "Alice's drafts", "graph": graph, "visibility": "private"})
    assert created.status_code == 201 and created.json()["visibility"] == "private", created.text
    workflow_id = created.json()["id"]
    run_id = (await live.post(f"/api/v3/workflows/{workflow_id}/execute", headers=alice, json={})).json()["run_id"]
    w, r = f"/api/v3/workflows/{workflow_id}", f"/api/v3/runs/{run_id}"

    for path in (w, f"{w}/graph", f"{w}/versions", f"{w}/runs", f"{w}/export", f"{w}/analytics", f"{w}/schedules",
                 r, f"{r}/report"):
        answer = await live.get(path, headers=bob)
        assert answer.status_code == 404, (path, answer.text)
        assert "does not exist" in answer.json()["error"]["message"]
    for path in (f"{w}/execute", f"{w}/webhooks", f"{r}/cancel", f"{r}/retry", f"{r}/approve", f"{r}/reject"):
        answer = await live.post(path, headers=bob, json={})
        assert answer.status_code == 404, (path, answer.text)
    assert (await live.patch(w, headers=bob, json={"visibility": "workspace"})).status_code == 404
    assert (await live.put(f"{w}/graph", headers=bob, json={"graph": graph})).status_code == 404
    assert (await live.delete(w, headers=bob)).status_code == 404
    assert workflow_id not in [row["id"] for row in (await live.get("/api/v3/workflows", headers=bob)).json()["data"]]
    assert (await live.get("/api/v3/workflows", headers=bob)).json()["count"] == 0

    # Bob's attempts changed nothing; the owner and the admins see it and its run
    assert (await live.get(r, headers=alice)).json()["status"] in ("queued", "running", "waiting")
    assert (await live.get(w, headers=admin)).json()["visibility"] == "private"
    assert [row["id"] for row in (await live.get("/api/v3/workflows", headers=admin)).json()["data"]] == [workflow_id]

    # the owner shares it: now the workspace sees it (and only the owner or an admin may hide it again)
    shared = await live.patch(w, headers=alice, json={"visibility": "workspace"})
    assert shared.status_code == 200 and shared.json()["visibility"] == "workspace"
    assert (await live.get(r, headers=bob)).status_code == 200
    hidden = await live.patch(w, headers=bob, json={"visibility": "private"})
    assert hidden.status_code == 403, hidden.text
    bad = await live.patch(w, headers=alice, json={"visibility": "secret"})
    assert bad.status_code == 422 and "visibility" in bad.text


async def test_viewers_cannot_run_cancel_or_decide_and_editors_cannot_archive_others_workflows(
        live: httpx.AsyncClient) -> None:
    await account(live, "admin@example.com", Role.ADMIN)
    alice = await account(live, "alice@example.com", Role.EDITOR)
    bob = await account(live, "bob@example.com", Role.EDITOR)
    vera = await account(live, "vera@example.com", Role.VIEWER)
    graph = {"nodes": [{"id": "in", "type": "input", "config": {"fields": []}},
                       {"id": "ok", "type": "human_approval", "config": {}}],
             "edges": [{"source": "in", "target": "ok"}]}
    created = await live.post("/api/v3/workflows", headers=alice, json={"name": "Mine", "graph": graph})
    workflow_id = created.json()["id"]
    run_id = (await live.post(f"/api/v3/workflows/{workflow_id}/execute", headers=alice, json={})).json()["run_id"]
    for path in (f"/api/v3/workflows/{workflow_id}/execute", f"/api/v3/runs/{run_id}/cancel",
                 f"/api/v3/runs/{run_id}/retry", f"/api/v3/runs/{run_id}/approve", f"/api/v3/runs/{run_id}/reject",
                 f"/api/v3/workflows/{workflow_id}/webhooks"):
        answer = await live.post(path, headers=vera, json={})
        assert answer.status_code == 403, (path, answer.text)
    assert (await live.delete(f"/api/v3/workflows/{workflow_id}", headers=bob)).status_code == 403
    assert (await live.put(f"/api/v3/workflows/{workflow_id}/graph", headers=vera,
                           json={"graph": graph})).status_code == 403
    assert (await live.get(f"/api/v3/runs/{run_id}", headers=alice)).json()["status"] in ("queued", "running",
                                                                                            "waiting")


async def test_role_escalation_attempts_are_refused(live: httpx.AsyncClient) -> None:
    await account(live, "admin@example.com", Role.ADMIN)
    vera = await account(live, "vera@example.com", Role.VIEWER)
    eddie = await account(live, "eddie@example.com", Role.EDITOR)
    vera_id = (await live.get("/api/v3/auth/me", headers=vera)).json()["id"]
    assert (await live.patch(f"/api/v3/auth/users/{vera_id}", headers=vera, json={"role": "admin"})).status_code == 403
    assert (await live.patch(f"/api/v3/auth/users/{vera_id}", headers=eddie, json={"role": "admin"})).status_code == 403
    # Extra fields cannot smuggle a role in at sign-up either.
    smuggled = await live.post("/api/v3/auth/register", json={"email": "mallory@example.com",
                                                              "password": "amber-falcon-lantern-42", "role": "admin"})
    assert smuggled.status_code == 422
    for method, path in (("GET", "/api/v3/auth/users"), ("POST", "/api/v3/advanced/cache/clear"),
                         ("GET", "/api/v3/advanced/services/status"), ("GET", "/api/v3/audit"),
                         ("GET", "/api/v3/audit/export"), ("GET", "/api/v3/advanced/analytics/export")):
        answer = await live.request(method, path, headers=eddie)
        assert answer.status_code == 403, (path, answer.text)
    assert (await live.get("/api/v3/auth/me", headers=vera)).json()["role"] == "viewer"


def _signed(claims: dict[str, object], secret: str) -> str:
    return jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(secret), algorithms=["HS256"])


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_tampered_expired_and_foreign_tokens_are_401(live: httpx.AsyncClient) -> None:
    admin = await account(live, "admin@example.com", Role.ADMIN)
    vera = await account(live, "vera@example.com", Role.VIEWER)
    vera_id = (await live.get("/api/v3/auth/me", headers=vera)).json()["id"]
    header, payload, signature = _token_of(vera).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    secret = get_settings().signing_secret()
    forged = {
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64({**claims, 'role': 'admin'})}.",
        "role edited, old signature": f"{header}.{_b64({**claims, 'role': 'admin'})}.{signature}",
        "another key": _signed({**claims, "role": "admin"}, "a-different-secret-that-is-long-enough-0123"),
        "expired": _signed({**claims, "iat": 1_000, "exp": 2_000}, secret),
        "unknown user": _signed({**claims, "sub": str(uuid.uuid4())}, secret),
        "no issuer": _signed({k: v for k, v in claims.items() if k != "iss"}, secret),
    }
    for name, token in forged.items():
        answer = await live.get("/api/v3/auth/users", headers=_bearer(token))
        assert answer.status_code == 401, name
        assert answer.json()["error"]["code"] == "authentication_failed" and answer.headers["WWW-Authenticate"]
    # Deactivation ends every token at once, and reactivation does not bring the old ones back.
    user_url = f"/api/v3/auth/users/{vera_id}"
    assert (await live.patch(user_url, headers=admin, json={"is_active": False})).status_code == 200
    assert (await live.get("/api/v3/auth/me", headers=vera)).status_code == 401
    assert (await live.patch(user_url, headers=admin, json={"is_active": True})).status_code == 200
    assert (await live.get("/api/v3/auth/me", headers=vera)).status_code == 401


async def test_signing_out_everywhere_revokes_live_access_tokens(live: httpx.AsyncClient) -> None:
    await account(live, "admin@example.com", Role.ADMIN)
    first = await account(live, "sam@example.com", Role.EDITOR)
    login = await live.post("/api/v3/auth/login", json=SAM)
    second = _bearer(login.json()["access_token"])
    assert (await live.get("/api/v3/auth/me", headers=first)).status_code == 200
    assert (await live.post("/api/v3/auth/logout", headers=first)).status_code == 204
    for headers in (first, second):
        refused = await live.get("/api/v3/auth/me", headers=headers)
        assert refused.status_code == 401 and "signed out everywhere" in refused.json()["error"]["message"]
    refreshed = await live.post("/api/v3/auth/refresh", json={"refresh_token": login.json()["refresh_token"]})
    assert refreshed.status_code == 401
    fresh = await live.post("/api/v3/auth/login", json=SAM)
    assert (await live.get("/api/v3/auth/me", headers=_bearer(fresh.json()["access_token"]))).status_code == 200
