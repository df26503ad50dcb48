"""Bad input gets a clear 4xx JSON error, and no route is reached without a token."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import httpx
import pytest

from services import errors
from tests.api.conftest import PASSWORD, Headers

SignUp = Callable[[str], Awaitable[Headers]]
PUBLIC = {"/health", "/api/v3/health", "/api/v3/auth/register", "/api/v3/auth/login", "/api/v3/auth/refresh"}


def _error(answer: httpx.Response) -> dict[str, object]:
    body = answer.json()
    assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"])
    assert body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


async def test_every_private_route_in_openapi_is_401_before_its_body_is_read(client: httpx.AsyncClient) -> None:
    """...and the document locks exactly those: the operations the guard answers 401 without a token."""
    spec = (await client.get("/openapi.json")).json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http", "scheme": "bearer", "description": "An access token from POST /api/v3/auth/login"}
    checked = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if path in PUBLIC or path.startswith("/api/v3/hooks/"):  # the secret in the path is the credential
                assert "security" not in operation, f"{method.upper()} {path} is public"
                continue
            assert operation["security"] == [{"HTTPBearer": []}], f"{method.upper()} {path}"
            url = path.replace("{user_id}", "00000000-0000-0000-0000-000000000000")
            # A body that would crash any parser that ran before authentication.
            answer = await client.request(method.upper(), url, content=b"{not json",
                                          headers={"Content-Type": "application/json"})
            assert answer.status_code == 401, f"{method.upper()} {path} -> {answer.status_code}"
            assert _error(answer)["code"] == "authentication_failed"
            assert answer.headers["WWW-Authenticate"] == "Bearer"
            checked += 1
    assert checked >= 4


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Basic dXNlcjpwYXNz", "Bearer ", "token"])
async def test_bad_authorization_headers_are_401(client: httpx.AsyncClient, header: str) -> None:
    answer = await client.get("/api/v3/auth/me", headers={"Authorization": header})
    assert answer.status_code == 401 and _error(answer)["code"] == "authentication_failed"


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    answer = await client.post("/api/v3/auth/register", content=b'{"email": "a@b.co", "password": ',
                               headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and _error(answer)["code"] == "malformed_json"


async def test_wrong_types_are_422_naming_the_field(client: httpx.AsyncClient) -> None:
    answer = await client.post("/api/v3/auth/register", json={"email": "t@example.com", "password": 12345678901})
    error = _error(answer)
    assert answer.status_code == 422 and error["details"][0]["field"] == "password"  # type: ignore[index]


async def test_unknown_fields_are_422(client: httpx.AsyncClient) -> None:
    answer = await client.post("/api/v3/auth/register",
                               json={"email": "u@example.com", "password": PASSWORD, "role": "admin"})
    assert answer.status_code == 422 and "role" in _error(answer)["message"]  # type: ignore[operator]


async def test_invalid_email_is_422(client: httpx.AsyncClient) -> None:
    answer = await client.post("/api/v3/auth/register", json={"email": "not-an-email", "password": PASSWORD})
    assert answer.status_code == 422 and _error(answer)["details"][0]["field"] == "email"  # type: ignore[index]


async def test_weak_password_is_422_with_a_sentence(client: httpx.AsyncClient) -> None:
    answer = await client.post("/api/v3/auth/register", json={"email": "w@example.com", "password": "password123"})
    assert answer.status_code == 422 and "common" in _error(answer)["message"]  # type: ignore[operator]


async def test_duplicate_email_is_409(client: httpx.AsyncClient, sign_up: SignUp) -> None:
    await sign_up("dup@example.com")
    answer = await client.post("/api/v3/auth/register", json={"email": "DUP@example.com", "password": PASSWORD})
    assert answer.status_code == 409 and _error(answer)["code"] == "conflict"


async def test_wrong_content_type_is_415(client: httpx.AsyncClient) -> None:
    answer = await client.post("/api/v3/auth/login", content=b"email=a&password=b",
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 415 and _error(answer)["code"] == "unsupported_media_type"


async def test_oversize_body_is_413(client: httpx.AsyncClient) -> None:
    big = b'{"email": "' + b"a" * (1024 * 1024 + 10) + b'"}'
    answer = await client.post("/api/v3/auth/login", content=big, headers={"Content-Type": "application/json"})
    assert answer.status_code == 413 and _error(answer)["code"] == "payload_too_large"


async def test_oversize_chunked_body_without_length_is_413(client: httpx.AsyncClient) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(20):
            yield b"x" * 65536

    answer = await client.post("/api/v3/auth/login", content=chunks(), headers={"Content-Type": "application/json"})
    assert answer.status_code == 413


async def test_unknown_api_route_is_a_json_404(client: httpx.AsyncClient, sign_up: SignUp) -> None:
    headers = await sign_up("lost@example.com")
    answer = await client.get("/api/v3/nowhere", headers=headers)
    assert answer.status_code == 404 and _error(answer)["code"] == "not_found"


async def test_wrong_method_is_a_json_405(client: httpx.AsyncClient, sign_up: SignUp) -> None:
    headers = await sign_up("method@example.com")
    answer = await client.delete("/api/v3/auth/me", headers=headers)
    assert answer.status_code in (404, 405) and _error(answer)


async def test_docs_are_served(client: httpx.AsyncClient) -> None:
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert (await client.get(path)).status_code == 200
    spec = (await client.get("/openapi.json")).json()
    login = spec["paths"]["/api/v3/auth/login"]["post"]
    assert login["operationId"] == "auth-login"
    assert "requestBody" in login and "200" in login["responses"]


async def test_openapi_documents_the_error_body(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    me = spec["paths"]["/api/v3/auth/me"]["get"]
    assert me["responses"]["401"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert me["security"] == [{"HTTPBearer": []}]


@pytest.mark.parametrize("body", [
    b"\xff\xfe", b"[]", b'"text"', b"NaN", b"1e999999", b'{"email": null, "password": "x"}',
    b"[" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    b'{"email": "a@b.co", "password": "\\ud800"}',
])
async def test_hostile_bodies_get_a_4xx_never_a_500(client: httpx.AsyncClient, body: bytes) -> None:
    answer = await client.post("/api/v3/auth/login", content=body, headers={"Content-Type": "application/json"})
    assert 400 <= answer.status_code < 500, answer.text
    assert _error(answer)["code"] in {"malformed_json", "bad_request", "validation_failed"}


@pytest.mark.parametrize(("error", "status", "code"), [
    (errors.ProviderUnavailable("the AI provider answered 500"), 502, "provider_unavailable"),
    (errors.ServiceUnavailable("Redis is down"), 503, "service_unavailable"),
])
async def test_dependency_failures_map_to_gateway_statuses(error: errors.DomainError, status: int, code: str) -> None:
    from dashboard.api.errors import _domain_error

    response = await _domain_error(None, error)  # type: ignore[arg-type]
    assert response.status_code == status
    assert json.loads(bytes(response.body))["error"]["code"] == code
