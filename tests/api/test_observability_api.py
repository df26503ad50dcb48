"""/metrics (who reads it, what it counts), request ids in logs, secrets never logged or answered, security headers."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import httpx
import pytest
from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from dashboard.api.app import create_api
from dashboard.api.deps import get_session
from dashboard.api.observability import client_address, trusted_networks
from models.ai_usage import AIUsage
from models.run import Run, Trigger
from services.observability.logging import build_handler
from services.settings import Settings, get_settings
from tests.api.conftest import Headers
from tests.settings_env import configure

SignUp = Callable[[str], Awaitable[Headers]]
SECRETS = {"SMTP_PASSWORD": "smtp-pass-Zq81x", "OPENAI_API_KEY": "sk-live-secret-7Hk2",
           "TWILIO_AUTH_TOKEN": "tw-tok-3Lp9", "ANTHROPIC_API_KEY": "sk-ant-secret-Pw4",
           "METRICS_TOKEN": "metrics-token-Vb77-long-enough"}


def _sample(text: str, name: str, **labels: str) -> float | None:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    match = re.search(rf"^{name}{{{re.escape(wanted)}}} (\S+)$" if labels else rf"^{name} (\S+)$", text, re.M)
    return float(match.group(1)) if match else None


async def test_metrics_count_requests_by_route_template_and_read_the_database(
        client: httpx.AsyncClient, sign_up: SignUp, session: AsyncSession) -> None:
    admin = await sign_up("metrics@example.com")
    created = await client.post("/api/v3/workflows", headers=admin, json={"name": "Counted"})
    for _ in range(3):
        assert (await client.get(f"/api/v3/workflows/{created.json()['id']}", headers=admin)).status_code == 200
    session.add(Run(workflow_id=created.json()["id"], version=1, trigger=Trigger.API))
    session.add(AIUsage(provider="openai", model="gpt-4o-mini", operation="generate", input_tokens=120,
                        output_tokens=30, cost_usd=0.25))
    await session.flush()
    before = await client.get("/metrics")
    assert before.status_code == 200 and before.headers["content-type"].startswith("text/plain")
    text = before.text
    route = "/api/v3/workflows/{workflow_id}"
    assert (_sample(text, "dwc_http_requests_total", route=route, method="GET", status="200") or 0) >= 3
    assert (_sample(text, "dwc_http_request_duration_seconds_count", route=route, method="GET") or 0) >= 3
    assert f"/api/v3/workflows/{created.json()['id']}" not in text  # raw paths never become labels
    assert _sample(text, "dwc_runs", status="queued") == 1 and _sample(text, "dwc_queue_depth") == 1
    assert _sample(text, "dwc_ai_tokens", provider="openai") == 150
    assert _sample(text, "dwc_ai_cost_usd", provider="openai") == 0.25
    assert 'dwc_cache_requests{result="hit"}' in text
    again = (await client.get("/metrics")).text
    assert _sample(again, "dwc_http_requests_total", route="/metrics", method="GET", status="200") == \
        (_sample(text, "dwc_http_requests_total", route="/metrics", method="GET", status="200") or 0) + 1


@pytest.fixture
async def remote_client(session: AsyncSession) -> AsyncIterator[httpx.AsyncClient]:
    """The API as seen from another machine (203.0.113.9)."""
    api = create_api()

    async def _test_session() -> AsyncIterator[AsyncSession]:
        yield session

    api.dependency_overrides[get_session] = _test_session
    transport = httpx.ASGITransport(app=api, client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://remote") as http:
        yield http


async def test_metrics_are_for_loopback_or_the_metrics_token(
        client: httpx.AsyncClient, remote_client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    refused = await remote_client.get("/metrics")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
    configure(monkeypatch, METRICS_TOKEN=SECRETS["METRICS_TOKEN"])
    assert (await client.get("/metrics")).status_code == 403  # with a token, loopback needs it too
    assert (await remote_client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 403
    allowed = await remote_client.get("/metrics", headers={"Authorization": f"Bearer {SECRETS['METRICS_TOKEN']}"})
    assert allowed.status_code == 200 and "dwc_http_requests_total" in allowed.text


@pytest.fixture
def captured_logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """Every log line the product writes, through the product's own JSON handler, with secrets configured."""
    configure(monkeypatch, **SECRETS)
    stream = io.StringIO()
    handler = build_handler(get_settings(), stream)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous)


async def test_log_lines_are_json_with_the_request_id_and_never_hold_a_secret(
        client: httpx.AsyncClient, sign_up: SignUp, captured_logs: io.StringIO) -> None:
    admin = await sign_up("logs@example.com")
    answers = [await client.get(path, headers={**admin, "X-Request-ID": "req-logs-1"}) for path in
               ("/api/v3/advanced/services/status", "/api/v3/advanced/ai/providers",
                "/api/v3/advanced/notifications/channels", "/api/v3/health")]
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    # Code that logs a secret by mistake, in the message, its arguments and an exception.
    log = logging.getLogger("dashboard.test")
    log.warning("connecting to SMTP with password %s", SECRETS["SMTP_PASSWORD"])
    try:
        raise RuntimeError(f"auth failed for key {SECRETS['OPENAI_API_KEY']}")
    except RuntimeError:
        log.exception("provider call failed")
    await client.post("/api/v3/auth/login", headers={"X-Request-ID": "req-logs-2"},
                      json={"email": "nobody@example.com", "password": SECRETS["TWILIO_AUTH_TOKEN"]})
    output = captured_logs.getvalue()
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    assert any(line["message"] == "connecting to SMTP with password ***" for line in lines)
    assert any("exception" in line and "***" in line["exception"] for line in lines)
    bodies = " ".join(a.text for a in answers)
    for secret in SECRETS.values():
        assert secret not in output, secret
        assert secret not in bodies, secret
    assert get_settings().signing_secret() not in output


async def test_security_headers_on_every_answer(client: httpx.AsyncClient) -> None:
    for path in ("/api/v3/health", "/api/v3/workflows", "/health", "/openapi.json"):
        answer = await client.get(path)
        assert answer.headers["X-Frame-Options"] == "DENY", path
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
        assert "Strict-Transport-Security" not in answer.headers  # plain HTTP: HSTS would be ignored anyway
    behind_tls = await client.get("/health", headers={"X-Forwarded-Proto": "https"})
    assert behind_tls.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    docs = await client.get("/docs")
    assert "https://cdn.jsdelivr.net" in docs.headers["Content-Security-Policy"]
    assert "cdn.jsdelivr.net" not in (await client.get("/health")).headers["Content-Security-Policy"]


def test_the_client_is_the_nearest_hop_no_trusted_proxy_vouches_for() -> None:
    trusted = trusted_networks("10.0.0.0/8, 127.0.0.1")
    assert client_address("10.0.0.2", "203.0.113.7", trusted) == "203.0.113.7"
    assert client_address("10.0.0.2", "1.2.3.4, 203.0.113.7, 10.0.0.9", trusted) == "203.0.113.7"  # 1.2.3.4 forged
    assert client_address("198.51.100.1", "203.0.113.7", trusted) == "198.51.100.1"  # not a proxy: header ignored
    assert client_address("10.0.0.2", "", trusted) == "10.0.0.2"
    with pytest.raises(ValidationError):
        Settings(trusted_proxies="10.0.0.0/8, not-a-network")


async def test_audit_entries_behind_a_trusted_proxy_carry_the_real_client(
        client: httpx.AsyncClient, sign_up: SignUp, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, TRUSTED_PROXIES="127.0.0.0/8")
    admin = await sign_up("proxied@example.com")
    await client.post("/api/v3/workflows", headers={**admin, "X-Forwarded-For": "203.0.113.50"}, json={"name": "P"})
    entries = (await client.get("/api/v3/audit", headers=admin, params={"action": "workflow_created"})).json()["data"]
    assert entries[0]["ip"] == "203.0.113.50"
