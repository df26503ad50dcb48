"""Live channel health checks against loopback peers: an SMTP session, provider URLs reachable or not."""

from __future__ import annotations

import pytest

from services.notifications.channels.registry import channel_health_infos, get_channel
from tests.fakes.http_peers import Answer, RecordingHTTPServer
from tests.fakes.smtp_server import FakeSMTPServer
from tests.processes import free_port
from tests.settings_env import SetEnv

pytestmark = pytest.mark.usefixtures("channel_env")


async def test_email_is_ok_when_the_relay_answers_an_smtp_session_and_sends_nothing(
        channel_env: SetEnv, smtp_server: FakeSMTPServer) -> None:
    channel_env(SMTP_HOST=smtp_server.host, SMTP_PORT=str(smtp_server.port), SMTP_FROM="dwc@example.com")
    health = await get_channel("email").check_health()
    assert health.status == "ok" and health.latency_ms is not None and health.checked_at is not None
    assert health.detail.startswith(f"SMTP {smtp_server.host}:{smtp_server.port} answers: 220")
    assert smtp_server.received == []


async def test_email_is_down_with_the_reason_when_nothing_listens(channel_env: SetEnv) -> None:
    channel_env(SMTP_HOST="127.0.0.1", SMTP_PORT=str(free_port()), SMTP_FROM="dwc@example.com")
    health = await get_channel("email").check_health()
    assert health.status == "down" and health.latency_ms is None
    assert "127.0.0.1" in health.detail or "connect" in health.detail.lower()


async def test_push_and_sms_are_ok_when_their_base_url_answers_even_with_an_error_status(
        channel_env: SetEnv, http_peer: RecordingHTTPServer) -> None:
    http_peer.answer_next(Answer(status=404))
    channel_env(NTFY_BASE_URL=http_peer.url("/ntfy"), TWILIO_BASE_URL=http_peer.url("/twilio"),
                TWILIO_ACCOUNT_SID="AC123", TWILIO_AUTH_TOKEN="secret-token", TWILIO_FROM="+15550001111")
    push, sms = await get_channel("push").check_health(), await get_channel("sms").check_health()
    assert (push.status, sms.status) == ("ok", "ok")
    assert "HTTP 404" in push.detail and "HTTP 200" in sms.detail
    assert sorted(request.path for request in http_peer.requests) == ["/ntfy", "/twilio"]
    assert all(request.method == "GET" for request in http_peer.requests)  # a check never publishes


async def test_a_provider_url_nobody_answers_is_down(channel_env: SetEnv) -> None:
    channel_env(NTFY_BASE_URL=f"http://127.0.0.1:{free_port()}")
    health = await get_channel("push").check_health()
    assert health.status == "down" and "ConnectError" in health.detail


async def test_every_channel_reports_its_health_and_unconfigured_ones_name_their_settings() -> None:
    infos = {info.name: info for info in await channel_health_infos()}
    assert set(infos) == {"in_app", "email", "sms", "push", "webhook", "slack", "teams", "discord"}
    health = {name: info.health for name, info in infos.items()}
    assert all(item is not None for item in health.values())
    assert health["in_app"].status == "ok"  # type: ignore[union-attr]
    assert health["email"].status == "not_configured"  # type: ignore[union-attr]
    assert "SMTP_HOST" in health["email"].detail  # type: ignore[union-attr]
    assert health["slack"].status == "configured"  # type: ignore[union-attr]


async def test_a_recent_check_is_reused_when_the_caller_allows_it(channel_env: SetEnv,
                                                                  http_peer: RecordingHTTPServer) -> None:
    channel_env(NTFY_BASE_URL=http_peer.url("/ntfy"))
    await channel_health_infos()
    await channel_health_infos(max_age_seconds=60)  # the Services page: no second request to the provider
    assert len(http_peer.requests) == 1
    await channel_health_infos()  # the API: checked again
    assert len(http_peer.requests) == 2
