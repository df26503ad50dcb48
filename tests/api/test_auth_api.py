"""The /api/v3/auth routes: happy paths, roles, rate limit and token rotation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest

from tests.api.conftest import PASSWORD, Headers

SignUp = Callable[[str], Awaitable[Headers]]


async def test_register_login_me(client: httpx.AsyncClient) -> None:
    created = await client.post("/api/v3/auth/register",
                                json={"email": "Ada@Example.com", "password": PASSWORD, "full_name": "Ada"})
    assert created.status_code == 201
    body = created.json()
    assert body["email"] == "ada@example.com" and body["role"] == "admin"
    assert "password" not in str(body) and "hash" not in str(body)
    login = await client.post("/api/v3/auth/login", json={"email": "ADA@example.com", "password": PASSWORD})
    tokens = login.json()
    assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 900
    me = await client.get("/api/v3/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200 and me.json()["full_name"] == "Ada"


async def test_wrong_password_is_401_with_a_json_error(client: httpx.AsyncClient, sign_up: SignUp) -> None:
    await sign_up("wrong@example.com")
    answer = await client.post("/api/v3/auth/login", json={"email": "wrong@example.com", "password": "nope-nope-nope"})
    assert answer.status_code == 401
    assert answer.json()["error"] == {"code": "authentication_failed",
                                      "message": "The email or password is incorrect.", "details": None}


async def test_viewers_cannot_manage_users_but_admins_can(client: httpx.AsyncClient, sign_up: SignUp) -> None:
    admin = await sign_up("admin@example.com")
    viewer = await sign_up("viewer@example.com")
    denied = await client.get("/api/v3/auth/users", headers=viewer)
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "permission_denied"
    listing = await client.get("/api/v3/auth/users", headers=admin, params={"limit": 1})
    assert listing.status_code == 200 and listing.json()["count"] == 2 and len(listing.json()["data"]) == 1
    viewer_id = (await client.get("/api/v3/auth/me", headers=viewer)).json()["id"]
    patched = await client.patch(f"/api/v3/auth/users/{viewer_id}", headers=admin, json={"role": "editor"})
    assert patched.status_code == 200 and patched.json()["role"] == "editor"
    # The role is read from the database, so it applies before the old token expires.
    assert (await client.get("/api/v3/auth/me", headers=viewer)).json()["role"] == "editor"
    forbidden = await client.patch(f"/api/v3/auth/users/{viewer_id}", headers=viewer, json={"role": "admin"})
    assert forbidden.status_code == 403


async def test_patching_an_unknown_user_is_404(client: httpx.AsyncClient, sign_up: SignUp) -> None:
    admin = await sign_up("admin2@example.com")
    answer = await client.patch("/api/v3/auth/users/00000000-0000-0000-0000-000000000000", headers=admin,
                                json={"role": "editor"})
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"


async def test_sixth_failed_login_is_429_with_retry_after(client: httpx.AsyncClient, sign_up: SignUp) -> None:
    await sign_up("limit@example.com")
    statuses = [
        (await client.post("/api/v3/auth/login", json={"email": "limit@example.com", "password": "bad-guess-123"}))
        .status_code for _ in range(5)
    ]
    assert statuses == [401] * 5
    blocked = await client.post("/api/v3/auth/login", json={"email": "limit@example.com", "password": PASSWORD})
    assert blocked.status_code == 429
    assert 0 < int(blocked.headers["Retry-After"]) <= 900
    assert blocked.json()["error"]["code"] == "rate_limited"


@pytest.mark.redis
async def test_rate_limit_is_shared_through_redis(client: httpx.AsyncClient, sign_up: SignUp, redis_url: str) -> None:
    import redis

    email = "shared-limit@example.com"
    redis.Redis.from_url(redis_url).delete(f"dwc:login-failures:{email}|127.0.0.1")
    await sign_up(email)
    for _ in range(5):
        await client.post("/api/v3/auth/login", json={"email": email, "password": "bad-guess-123"})
    stored = redis.Redis.from_url(redis_url).get(f"dwc:login-failures:{email}|127.0.0.1")
    assert stored == b"5"
    blocked = await client.post("/api/v3/auth/login", json={"email": email, "password": PASSWORD})
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    redis.Redis.from_url(redis_url).delete(f"dwc:login-failures:{email}|127.0.0.1")


async def test_refresh_rotates_and_a_replayed_token_is_refused(client: httpx.AsyncClient, sign_up: SignUp) -> None:
    await sign_up("rot@example.com")
    first = (await client.post("/api/v3/auth/login", json={"email": "rot@example.com", "password": PASSWORD})).json()
    second = await client.post("/api/v3/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200 and second.json()["refresh_token"] != first["refresh_token"]
    replay = await client.post("/api/v3/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401 and "already used" in replay.json()["error"]["message"]
    after = await client.post("/api/v3/auth/refresh", json={"refresh_token": second.json()["refresh_token"]})
    assert after.status_code == 401


async def test_logout_ends_the_sign_in(client: httpx.AsyncClient, sign_up: SignUp) -> None:
    await sign_up("bye@example.com")
    pair = (await client.post("/api/v3/auth/login", json={"email": "bye@example.com", "password": PASSWORD})).json()
    headers = {"Authorization": f"Bearer {pair['access_token']}"}
    out = await client.post("/api/v3/auth/logout", headers=headers, json={"refresh_token": pair["refresh_token"]})
    assert out.status_code == 204
    again = await client.post("/api/v3/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert again.status_code == 401


async def test_logout_without_a_token_ends_every_sign_in(client: httpx.AsyncClient, sign_up: SignUp) -> None:
    headers = await sign_up("everywhere@example.com")
    other = (await client.post("/api/v3/auth/login",
                               json={"email": "everywhere@example.com", "password": PASSWORD})).json()
    assert (await client.post("/api/v3/auth/logout", headers=headers)).status_code == 204
    again = await client.post("/api/v3/auth/refresh", json={"refresh_token": other["refresh_token"]})
    assert again.status_code == 401
