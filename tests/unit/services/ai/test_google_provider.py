"""The Google Gemini provider: the real ``google-genai`` SDK over HTTP to a loopback Gemini API server."""

from __future__ import annotations

import pytest

from services.ai import service
from services.ai.base import ChatMessage, GenerateRequest
from services.ai.errors import ProviderFailed, ProviderNotConfigured
from services.ai.providers.google import GEMINI_API_URL, GoogleProvider
from tests.fakes.google_server import MODEL_VERSION, FakeGoogleServer
from tests.processes import free_port
from tests.unit.services.ai.conftest import SetEnv

KEY = "AIzaSyTest-0123456789abcdefghijklmnopq"


@pytest.fixture
def google_provider(google_server: FakeGoogleServer, provider_env: SetEnv) -> GoogleProvider:
    provider_env(GOOGLE_API_KEY=KEY, GOOGLE_BASE_URL=google_server.base_url)
    return GoogleProvider()


async def test_generate_sends_contents_system_instruction_and_limits_and_returns_the_servers_reply(
        google_server: FakeGoogleServer, google_provider: GoogleProvider) -> None:
    request = GenerateRequest(system="Be brief.", prompt="Summarise the {{ period }} report",
                              variables={"period": "quarterly"}, temperature=0.2, max_tokens=50)
    result = await google_provider.generate(request)

    assert result.text == "You said: report quarterly the Summarise"
    assert (result.provider, result.model, result.finish_reason) == ("google", "gemini-2.5-flash", "stop")
    assert (result.usage.input_tokens, result.usage.output_tokens) == (6, 6)
    assert result.metadata["model_version"] == MODEL_VERSION
    [sent] = google_server.requests
    assert sent.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert sent.headers["x-goog-api-key"] == KEY
    assert sent.body["contents"] == [{"role": "user", "parts": [{"text": "Summarise the quarterly report"}]}]
    assert sent.body["systemInstruction"]["parts"] == [{"text": "Be brief."}]
    assert sent.body["generationConfig"] == {"temperature": 0.2, "maxOutputTokens": 50}


async def test_conversation_is_sent_as_user_and_model_turns_to_the_chosen_model(
        google_server: FakeGoogleServer, google_provider: GoogleProvider) -> None:
    request = GenerateRequest(model="gemini-2.5-pro", messages=[ChatMessage(role="user", content="one two"),
                                                                ChatMessage(role="assistant", content="ok"),
                                                                ChatMessage(role="user", content="three four")])
    result = await google_provider.generate(request)

    assert result.text == "You said: four three" and result.model == "gemini-2.5-pro"
    [sent] = google_server.requests
    assert sent.path == "/v1beta/models/gemini-2.5-pro:generateContent"
    assert [content["role"] for content in sent.body["contents"]] == ["user", "model", "user"]
    assert "systemInstruction" not in sent.body


async def test_a_reply_cut_at_max_output_tokens_finishes_with_length(google_provider: GoogleProvider) -> None:
    result = await google_provider.generate(GenerateRequest(prompt="a b c d e f", max_tokens=3))
    assert (result.text, result.finish_reason, result.usage.output_tokens) == ("You said: f", "length", 3)


async def test_a_reply_stopped_for_safety_finishes_with_content_filter(
        google_server: FakeGoogleServer, google_provider: GoogleProvider) -> None:
    google_server.finish_next("SAFETY")
    result = await google_provider.generate(GenerateRequest(prompt="hello"))
    assert result.finish_reason == "content_filter"


async def test_stream_yields_pieces_that_join_to_the_generated_text_and_records_usage(
        google_server: FakeGoogleServer, google_provider: GoogleProvider) -> None:
    request = GenerateRequest(prompt="Write the launch note for Friday", max_tokens=40)
    expected = await google_provider.generate(request)

    pieces = [piece async for piece in google_provider.stream(request)]

    assert len(pieces) > 3 and "".join(pieces) == expected.text
    streamed = google_provider.last_streamed
    assert streamed is not None and streamed.text == expected.text and streamed.finish_reason == "stop"
    assert streamed.usage == expected.usage and streamed.usage.output_tokens == len(expected.text.split())
    sent = google_server.requests[-1]
    assert (sent.path, sent.query) == ("/v1beta/models/gemini-2.5-flash:streamGenerateContent", "alt=sse")
    assert sent.headers["x-goog-api-key"] == KEY
    assert sent.body["generationConfig"]["maxOutputTokens"] == 40


async def test_rate_limit_is_retryable_after_the_servers_retry_after_header(
        google_server: FakeGoogleServer, google_provider: GoogleProvider) -> None:
    google_server.fail_next(429, retry_after="1", message="Resource has been exhausted (e.g. check quota).")
    with pytest.raises(ProviderFailed, match=r"HTTP 429: Resource has been exhausted \(e\.g\. check quota\)") as caught:
        await google_provider.generate(GenerateRequest(prompt="hello"))
    assert caught.value.retryable and caught.value.retry_after == 1
    assert caught.value.details == {"status": 429, "code": "RESOURCE_EXHAUSTED"}
    assert len(google_server.requests) == 1, "the SDK must not retry on its own"


async def test_rate_limit_without_a_header_waits_for_the_retry_info_delay(
        google_server: FakeGoogleServer, google_provider: GoogleProvider) -> None:
    google_server.fail_next(429, retry_delay="7s", message="You exceeded your current quota.")
    with pytest.raises(ProviderFailed, match="HTTP 429") as caught:
        await google_provider.generate(GenerateRequest(prompt="hello"))
    assert caught.value.retryable and caught.value.retry_after == 7


async def test_server_error_is_retryable(google_server: FakeGoogleServer, google_provider: GoogleProvider) -> None:
    google_server.fail_next(500, message="An internal error has occurred.")
    with pytest.raises(ProviderFailed, match="HTTP 500: An internal error has occurred") as caught:
        await google_provider.generate(GenerateRequest(prompt="hello"))
    assert caught.value.retryable and caught.value.retry_after is None
    assert len(google_server.requests) == 1, "the SDK must not retry on its own"


@pytest.mark.parametrize("status", [401, 403])
async def test_refused_key_is_not_retryable_and_never_repeats_the_key(
        google_server: FakeGoogleServer, google_provider: GoogleProvider, status: int) -> None:
    google_server.fail_next(status, message=f"Method doesn't allow unregistered callers (key {KEY}).")
    with pytest.raises(ProviderFailed, match=rf"refused the API key \(HTTP {status}\).*GOOGLE_API_KEY") as caught:
        await google_provider.generate(GenerateRequest(prompt="hello"))
    assert not caught.value.retryable
    assert KEY not in caught.value.message and KEY not in str(caught.value.details)


async def test_an_invalid_key_refused_with_http_400_reads_as_a_refused_key(
        google_server: FakeGoogleServer, google_provider: GoogleProvider) -> None:
    google_server.fail_next(400, reason="API_KEY_INVALID", message=f"API key not valid: {KEY}.")
    with pytest.raises(ProviderFailed, match=r"refused the API key \(HTTP 400\)") as caught:
        await google_provider.generate(GenerateRequest(prompt="hello"))
    assert not caught.value.retryable and KEY not in caught.value.message


async def test_bad_request_is_not_retryable_and_carries_the_providers_message_without_the_key(
        google_server: FakeGoogleServer, google_provider: GoogleProvider) -> None:
    google_server.fail_next(400, message=f"The input token count exceeds the maximum (key {KEY}).")
    with pytest.raises(ProviderFailed, match="HTTP 400: The input token count exceeds the maximum") as caught:
        await google_provider.generate(GenerateRequest(prompt="hello"))
    assert not caught.value.retryable
    assert KEY not in caught.value.message and "[redacted]" in caught.value.message


async def test_a_failure_while_streaming_is_raised_as_provider_failed(
        google_server: FakeGoogleServer, google_provider: GoogleProvider) -> None:
    google_server.fail_next(503, retry_after="2", message="The model is overloaded.")
    with pytest.raises(ProviderFailed, match="HTTP 503: The model is overloaded") as caught:
        _ = [piece async for piece in google_provider.stream(GenerateRequest(prompt="hello"))]
    assert caught.value.retryable and caught.value.retry_after == 2


async def test_an_error_sent_mid_stream_is_raised_after_the_pieces_before_it(
        google_server: FakeGoogleServer, google_provider: GoogleProvider) -> None:
    google_server.fail_next(500, message="An internal error has occurred.", mid_stream=True)
    pieces: list[str] = []
    with pytest.raises(ProviderFailed, match="HTTP 500: An internal error has occurred") as caught:
        async for piece in google_provider.stream(GenerateRequest(prompt="hello there")):
            pieces.append(piece)
    assert pieces == ["You"] and caught.value.retryable
    assert google_provider.last_streamed is None


async def test_a_slow_provider_times_out_as_retryable(google_server: FakeGoogleServer, provider_env: SetEnv) -> None:
    provider_env(GOOGLE_API_KEY=KEY, GOOGLE_BASE_URL=google_server.base_url, AI_REQUEST_TIMEOUT_SECONDS="0.2")
    google_server.delay_next(1.0)
    with pytest.raises(ProviderFailed, match=r"did not answer within 0\.2 s") as caught:
        await GoogleProvider().generate(GenerateRequest(prompt="hello"))
    assert caught.value.retryable
    assert len(google_server.requests) == 1, "the SDK must not retry on its own"


async def test_an_unreachable_server_is_retryable(provider_env: SetEnv) -> None:
    provider_env(GOOGLE_API_KEY=KEY, GOOGLE_BASE_URL=f"http://127.0.0.1:{free_port()}/")
    with pytest.raises(ProviderFailed, match="could not be reached") as caught:
        await GoogleProvider().generate(GenerateRequest(prompt="hello"))
    assert caught.value.retryable


def test_is_configured_follows_the_key_and_a_blank_base_url_means_googles_own(provider_env: SetEnv) -> None:
    assert not GoogleProvider().is_configured()
    provider_env(GOOGLE_API_KEY=KEY, GOOGLE_BASE_URL=" ")
    assert GoogleProvider().is_configured()
    assert GoogleProvider().connection().base_url == GEMINI_API_URL


async def test_service_refuses_an_unconfigured_google_provider(provider_env: SetEnv) -> None:
    with pytest.raises(ProviderNotConfigured, match="'google' is not configured"):
        await service.generate(GenerateRequest(prompt="hello"), provider="google")
