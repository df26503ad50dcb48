"""The Anthropic provider: the real ``anthropic`` SDK over HTTP to a loopback Messages API server."""

from __future__ import annotations

import warnings

import pytest

from services.ai import service
from services.ai.base import ChatMessage, GenerateRequest
from services.ai.errors import ProviderFailed, ProviderNotConfigured
from services.ai.providers.anthropic import ANTHROPIC_API_URL, AnthropicProvider
from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.processes import free_port
from tests.unit.services.ai.conftest import SetEnv

KEY = "sk-ant-test-0123456789abcdef"


@pytest.fixture
def anthropic_provider(anthropic_server: FakeAnthropicServer, provider_env: SetEnv) -> AnthropicProvider:
    provider_env(ANTHROPIC_API_KEY=KEY, ANTHROPIC_BASE_URL=anthropic_server.base_url)
    return AnthropicProvider()


async def test_generate_sends_model_system_messages_and_limit_and_returns_the_servers_reply(
        anthropic_server: FakeAnthropicServer, anthropic_provider: AnthropicProvider) -> None:
    request = GenerateRequest(system="Be brief.", prompt="Summarise the {{ period }} report",
                              variables={"period": "quarterly"}, temperature=0.2, max_tokens=50)
    result = await anthropic_provider.generate(request)

    assert result.text == "You said: report quarterly the Summarise"
    assert (result.provider, result.model, result.finish_reason) == ("anthropic", "claude-sonnet-4-6", "stop")
    assert (result.usage.input_tokens, result.usage.output_tokens) == (6, 6)
    assert result.metadata == {"message_id": "msg_fake"}
    [sent] = anthropic_server.requests
    assert sent.path == "/v1/messages"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.body["model"] == "claude-sonnet-4-6"
    assert sent.body["system"] == "Be brief."
    assert sent.body["messages"] == [{"role": "user", "content": "Summarise the quarterly report"}]
    assert sent.body["max_tokens"] == 50
    assert not sent.body.get("stream")


async def test_temperature_is_never_sent_because_the_api_version_refuses_sampling_parameters(
        anthropic_server: FakeAnthropicServer, anthropic_provider: AnthropicProvider) -> None:
    await anthropic_provider.generate(GenerateRequest(prompt="hello", temperature=1.5))

    [sent] = anthropic_server.requests
    # API version 2026-10-21 answers 400 to temperature, top_p or top_k; a newer SDK needs this re-checked.
    assert sent.headers["anthropic-version"] == "2026-10-21"
    assert not {"temperature", "top_p", "top_k"} & sent.body.keys()


async def test_system_turns_join_the_system_prompt_and_the_conversation_keeps_its_order(
        anthropic_server: FakeAnthropicServer, anthropic_provider: AnthropicProvider) -> None:
    request = GenerateRequest(model="claude-haiku-4-5", system="Be brief.",
                              messages=[ChatMessage(role="user", content="one two"),
                                        ChatMessage(role="assistant", content="ok"),
                                        ChatMessage(role="system", content="Answer in English."),
                                        ChatMessage(role="user", content="three four")])
    result = await anthropic_provider.generate(request)

    assert result.text == "You said: four three" and result.model == "claude-haiku-4-5"
    sent = anthropic_server.requests[0].body
    assert sent["system"] == "Be brief.\n\nAnswer in English."
    assert [(m["role"], m["content"]) for m in sent["messages"]] == [
        ("user", "one two"), ("assistant", "ok"), ("user", "three four")]


async def test_no_system_prompt_sends_no_system_field(
        anthropic_server: FakeAnthropicServer, anthropic_provider: AnthropicProvider) -> None:
    await anthropic_provider.generate(GenerateRequest(prompt="hello"))
    assert "system" not in anthropic_server.requests[0].body


async def test_a_reply_cut_at_max_tokens_finishes_with_length(anthropic_provider: AnthropicProvider) -> None:
    result = await anthropic_provider.generate(GenerateRequest(prompt="a b c d e f", max_tokens=3))
    assert (result.text, result.finish_reason, result.usage.output_tokens) == ("You said: f", "length", 3)


async def test_stream_yields_pieces_that_join_to_the_generated_text_and_records_usage(
        anthropic_server: FakeAnthropicServer, anthropic_provider: AnthropicProvider) -> None:
    request = GenerateRequest(system="Be brief.", prompt="Write the launch note for Friday", max_tokens=40)
    expected = await anthropic_provider.generate(request)

    pieces = [piece async for piece in anthropic_provider.stream(request)]

    assert len(pieces) > 3 and "".join(pieces) == expected.text
    streamed = anthropic_provider.last_streamed
    assert streamed is not None and streamed.text == expected.text
    assert streamed.usage == expected.usage
    assert (streamed.usage.input_tokens, streamed.usage.output_tokens) == (8, len(expected.text.split()))
    assert (streamed.finish_reason, streamed.metadata) == ("stop", {"message_id": "msg_fake"})
    sent = anthropic_server.requests[-1].body
    assert sent["stream"] is True and sent["system"] == "Be brief." and sent["max_tokens"] == 40


async def test_a_streamed_reply_cut_at_max_tokens_finishes_with_length(
        anthropic_provider: AnthropicProvider) -> None:
    pieces = [piece async for piece in anthropic_provider.stream(GenerateRequest(prompt="a b c d e", max_tokens=4))]
    streamed = anthropic_provider.last_streamed
    assert "".join(pieces) == "You said: e d"
    assert streamed is not None and (streamed.finish_reason, streamed.usage.output_tokens) == ("length", 4)


async def test_rate_limit_is_retryable_after_the_servers_retry_after(
        anthropic_server: FakeAnthropicServer, anthropic_provider: AnthropicProvider) -> None:
    anthropic_server.fail_next(429, retry_after="7", message="Number of request tokens has exceeded your rate limit.")
    with pytest.raises(ProviderFailed, match="HTTP 429: Number of request tokens has exceeded") as caught:
        await anthropic_provider.generate(GenerateRequest(prompt="hello"))
    assert caught.value.retryable and caught.value.retry_after == 7
    assert caught.value.details["type"] == "rate_limit_error"
    assert len(anthropic_server.requests) == 1, "the SDK must not retry on its own"


async def test_a_reached_spend_limit_is_not_retryable(anthropic_server: FakeAnthropicServer,
                                                      anthropic_provider: AnthropicProvider) -> None:
    anthropic_server.fail_next(429, message="You have reached your specified workspace spend limit.",
                               error_code="enforced_spend_limit_reached")
    with pytest.raises(ProviderFailed, match="spend limit") as caught:
        await anthropic_provider.generate(GenerateRequest(prompt="hello"))
    assert not caught.value.retryable


async def test_overloaded_is_retryable(anthropic_server: FakeAnthropicServer,
                                       anthropic_provider: AnthropicProvider) -> None:
    anthropic_server.fail_next(529, message="Overloaded")
    with pytest.raises(ProviderFailed, match="HTTP 529: Overloaded") as caught:
        await anthropic_provider.generate(GenerateRequest(prompt="hello"))
    assert caught.value.retryable and caught.value.retry_after is None
    assert caught.value.details["type"] == "overloaded_error"
    assert len(anthropic_server.requests) == 1


async def test_server_error_is_retryable(anthropic_server: FakeAnthropicServer,
                                         anthropic_provider: AnthropicProvider) -> None:
    anthropic_server.fail_next(500, message="Internal server error")
    with pytest.raises(ProviderFailed, match="HTTP 500: Internal server error") as caught:
        await anthropic_provider.generate(GenerateRequest(prompt="hello"))
    assert caught.value.retryable


async def test_refused_key_is_not_retryable_and_never_repeats_the_key(
        anthropic_server: FakeAnthropicServer, anthropic_provider: AnthropicProvider) -> None:
    anthropic_server.fail_next(401, message=f"invalid x-api-key {KEY}")
    with pytest.raises(ProviderFailed, match=r"refused the API key \(HTTP 401\).*ANTHROPIC_API_KEY") as caught:
        await anthropic_provider.generate(GenerateRequest(prompt="hello"))
    assert not caught.value.retryable
    assert KEY not in caught.value.message and KEY not in str(caught.value.details)


async def test_bad_request_is_not_retryable_and_carries_the_providers_message_without_the_key(
        anthropic_server: FakeAnthropicServer, anthropic_provider: AnthropicProvider) -> None:
    anthropic_server.fail_next(400, message=f"prompt is too long: 212000 tokens > 200000 maximum (key {KEY})")
    with pytest.raises(ProviderFailed, match="HTTP 400: prompt is too long") as caught:
        await anthropic_provider.generate(GenerateRequest(prompt="hello"))
    assert not caught.value.retryable
    assert KEY not in caught.value.message and "[redacted]" in caught.value.message


async def test_a_failure_before_streaming_starts_is_raised_as_provider_failed(
        anthropic_server: FakeAnthropicServer, anthropic_provider: AnthropicProvider) -> None:
    anthropic_server.fail_next(529, retry_after="2")
    with pytest.raises(ProviderFailed, match="HTTP 529") as caught:
        _ = [piece async for piece in anthropic_provider.stream(GenerateRequest(prompt="hello"))]
    assert caught.value.retryable and caught.value.retry_after == 2


async def test_an_overload_in_the_middle_of_a_stream_is_retryable(
        anthropic_server: FakeAnthropicServer, anthropic_provider: AnthropicProvider) -> None:
    anthropic_server.interrupt_next_stream(after_words=2, error_type="overloaded_error", message="Overloaded")
    pieces: list[str] = []
    with pytest.raises(ProviderFailed, match="stopped mid-answer: Overloaded") as caught:
        async for piece in anthropic_provider.stream(GenerateRequest(prompt="one two three")):
            pieces.append(piece)
    assert pieces == ["You", " said:"]
    assert caught.value.retryable and caught.value.details["type"] == "overloaded_error"
    assert anthropic_provider.last_streamed is None


async def test_a_slow_provider_times_out_as_retryable(anthropic_server: FakeAnthropicServer,
                                                      provider_env: SetEnv) -> None:
    provider_env(ANTHROPIC_API_KEY=KEY, ANTHROPIC_BASE_URL=anthropic_server.base_url,
                 AI_REQUEST_TIMEOUT_SECONDS="0.2")
    anthropic_server.delay_next(1.0)
    with pytest.raises(ProviderFailed, match=r"did not answer within 0\.2 s") as caught:
        await AnthropicProvider().generate(GenerateRequest(prompt="hello"))
    assert caught.value.retryable


async def test_an_unreachable_server_is_retryable(provider_env: SetEnv) -> None:
    provider_env(ANTHROPIC_API_KEY=KEY, ANTHROPIC_BASE_URL=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ProviderFailed, match="could not be reached") as caught:
        await AnthropicProvider().generate(GenerateRequest(prompt="hello"))
    assert caught.value.retryable


async def test_the_offered_models_are_not_ones_the_sdk_calls_deprecated(
        anthropic_server: FakeAnthropicServer, anthropic_provider: AnthropicProvider) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        for model in anthropic_provider.available_models():
            await anthropic_provider.generate(GenerateRequest(prompt="hello", model=model))
    assert [r.body["model"] for r in anthropic_server.requests] == list(AnthropicProvider.models)


def test_is_configured_follows_the_settings_and_a_blank_base_url_means_anthropics_own(
        provider_env: SetEnv) -> None:
    assert not AnthropicProvider().is_configured()
    provider_env(ANTHROPIC_API_KEY=KEY, ANTHROPIC_BASE_URL=" ")
    assert AnthropicProvider().is_configured()
    assert AnthropicProvider().connection().base_url == ANTHROPIC_API_URL == "https://api.anthropic.com"


async def test_service_refuses_an_unconfigured_anthropic_provider(provider_env: SetEnv) -> None:
    with pytest.raises(ProviderNotConfigured, match="'anthropic' is not configured"):
        await service.generate(GenerateRequest(prompt="hello"), provider="anthropic")


async def test_service_generates_through_the_anthropic_provider(anthropic_server: FakeAnthropicServer,
                                                                provider_env: SetEnv) -> None:
    provider_env(ANTHROPIC_API_KEY=KEY, ANTHROPIC_BASE_URL=anthropic_server.base_url)
    result = await service.generate(GenerateRequest(prompt="ping the model"), provider="anthropic")
    assert (result.text, result.provider) == ("You said: model the ping", "anthropic")
