"""The OpenAI and local providers: the real SDK over HTTP to a loopback OpenAI server."""

from __future__ import annotations

import pytest

from services.ai import service
from services.ai.base import ChatMessage, GenerateRequest
from services.ai.errors import ProviderFailed, ProviderNotConfigured
from services.ai.providers.local import LocalProvider
from services.ai.providers.openai import OpenAIProvider
from tests.fakes.openai_server import FakeOpenAIServer
from tests.processes import free_port
from tests.unit.services.ai.conftest import SetEnv

KEY = "sk-test-0123456789abcdef"


@pytest.fixture
def openai_provider(openai_server: FakeOpenAIServer, provider_env: SetEnv) -> OpenAIProvider:
    provider_env(OPENAI_API_KEY=KEY, OPENAI_BASE_URL=openai_server.base_url)
    return OpenAIProvider()


async def test_generate_sends_model_messages_and_limits_and_returns_the_servers_reply(
        openai_server: FakeOpenAIServer, openai_provider: OpenAIProvider) -> None:
    request = GenerateRequest(system="Be brief.", prompt="Summarise the {{ period }} report",
                              variables={"period": "quarterly"}, temperature=0.2, max_tokens=50)
    result = await openai_provider.generate(request)

    assert result.text == "You said: report quarterly the Summarise"
    assert (result.provider, result.model, result.finish_reason) == ("openai", "gpt-4o-mini", "stop")
    assert (result.usage.input_tokens, result.usage.output_tokens) == (6, 6)
    [sent] = openai_server.requests
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.body["model"] == "gpt-4o-mini"
    assert sent.body["messages"] == [{"role": "system", "content": "Be brief."},
                                     {"role": "user", "content": "Summarise the quarterly report"}]
    assert (sent.body["temperature"], sent.body["max_tokens"]) == (0.2, 50)
    assert not sent.body.get("stream")


async def test_conversation_and_chosen_model_are_sent_in_order(
        openai_server: FakeOpenAIServer, openai_provider: OpenAIProvider) -> None:
    request = GenerateRequest(model="gpt-4o", messages=[ChatMessage(role="user", content="one two"),
                                                        ChatMessage(role="assistant", content="ok"),
                                                        ChatMessage(role="user", content="three four")])
    result = await openai_provider.generate(request)

    assert result.text == "You said: four three" and result.model == "gpt-4o"
    assert [m["role"] for m in openai_server.requests[0].body["messages"]] == ["user", "assistant", "user"]


async def test_a_reply_cut_at_max_tokens_finishes_with_length(openai_provider: OpenAIProvider) -> None:
    result = await openai_provider.generate(GenerateRequest(prompt="a b c d e f", max_tokens=3))
    assert (result.text, result.finish_reason, result.usage.output_tokens) == ("You said: f", "length", 3)


async def test_stream_yields_pieces_that_join_to_the_generated_text_and_records_usage(
        openai_server: FakeOpenAIServer, openai_provider: OpenAIProvider) -> None:
    request = GenerateRequest(prompt="Write the launch note for Friday", max_tokens=40)
    expected = await openai_provider.generate(request)

    pieces = [piece async for piece in openai_provider.stream(request)]

    assert len(pieces) > 3 and "".join(pieces) == expected.text
    streamed = openai_provider.last_streamed
    assert streamed is not None and streamed.text == expected.text
    assert streamed.usage == expected.usage and streamed.usage.output_tokens == len(expected.text.split())
    sent = openai_server.requests[-1].body
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}


async def test_rate_limit_is_retryable_after_the_servers_retry_after(
        openai_server: FakeOpenAIServer, openai_provider: OpenAIProvider) -> None:
    openai_server.fail_next(429, retry_after="1", message="Rate limit reached for gpt-4o-mini.",
                            code="rate_limit_exceeded")
    with pytest.raises(ProviderFailed, match="HTTP 429: Rate limit reached for gpt-4o-mini") as caught:
        await openai_provider.generate(GenerateRequest(prompt="hello"))
    assert caught.value.retryable and caught.value.retry_after == 1
    assert len(openai_server.requests) == 1, "the SDK must not retry on its own"


async def test_exhausted_quota_is_not_retryable(openai_server: FakeOpenAIServer,
                                                openai_provider: OpenAIProvider) -> None:
    openai_server.fail_next(429, message="You exceeded your current quota.", code="insufficient_quota")
    with pytest.raises(ProviderFailed, match="exceeded your current quota") as caught:
        await openai_provider.generate(GenerateRequest(prompt="hello"))
    assert not caught.value.retryable


async def test_server_error_is_retryable(openai_server: FakeOpenAIServer, openai_provider: OpenAIProvider) -> None:
    openai_server.fail_next(500, message="The server had an error while processing your request.")
    with pytest.raises(ProviderFailed, match="HTTP 500: The server had an error") as caught:
        await openai_provider.generate(GenerateRequest(prompt="hello"))
    assert caught.value.retryable and caught.value.retry_after is None


async def test_refused_key_is_not_retryable_and_never_repeats_the_key(
        openai_server: FakeOpenAIServer, openai_provider: OpenAIProvider) -> None:
    openai_server.fail_next(401, message=f"Incorrect API key provided: {KEY}.", code="invalid_api_key")
    with pytest.raises(ProviderFailed, match=r"refused the API key.*OPENAI_API_KEY") as caught:
        await openai_provider.generate(GenerateRequest(prompt="hello"))
    assert not caught.value.retryable
    assert KEY not in caught.value.message and KEY not in str(caught.value.details)


async def test_bad_request_is_not_retryable_and_carries_the_providers_message(
        openai_server: FakeOpenAIServer, openai_provider: OpenAIProvider) -> None:
    openai_server.fail_next(400, message=f"This model's maximum context length is 128000 tokens (key {KEY}).",
                            code="context_length_exceeded")
    with pytest.raises(ProviderFailed, match="HTTP 400: This model's maximum context length") as caught:
        await openai_provider.generate(GenerateRequest(prompt="hello"))
    assert not caught.value.retryable and KEY not in caught.value.message


async def test_a_failure_while_streaming_is_raised_as_provider_failed(
        openai_server: FakeOpenAIServer, openai_provider: OpenAIProvider) -> None:
    openai_server.fail_next(503, retry_after="2")
    with pytest.raises(ProviderFailed, match="HTTP 503") as caught:
        _ = [piece async for piece in openai_provider.stream(GenerateRequest(prompt="hello"))]
    assert caught.value.retryable and caught.value.retry_after == 2


async def test_a_slow_provider_times_out_as_retryable(openai_server: FakeOpenAIServer, provider_env: SetEnv) -> None:
    provider_env(OPENAI_API_KEY=KEY, OPENAI_BASE_URL=openai_server.base_url, AI_REQUEST_TIMEOUT_SECONDS="0.2")
    openai_server.delay_next(1.0)
    with pytest.raises(ProviderFailed, match=r"did not answer within 0\.2 s") as caught:
        await OpenAIProvider().generate(GenerateRequest(prompt="hello"))
    assert caught.value.retryable


async def test_an_unreachable_server_is_retryable(provider_env: SetEnv) -> None:
    provider_env(OPENAI_API_KEY=KEY, OPENAI_BASE_URL=f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(ProviderFailed, match="could not be reached") as caught:
        await OpenAIProvider().generate(GenerateRequest(prompt="hello"))
    assert caught.value.retryable


async def test_local_provider_talks_to_its_server_without_an_api_key(
        openai_server: FakeOpenAIServer, provider_env: SetEnv) -> None:
    provider_env(LOCAL_LLM_BASE_URL=openai_server.base_url, LOCAL_LLM_MODEL="qwen2.5:7b")
    result = await service.generate(GenerateRequest(prompt="ping the local model"), provider="local")

    assert (result.text, result.provider, result.model) == ("You said: model local the ping", "local", "qwen2.5:7b")
    [sent] = openai_server.requests
    assert sent.body["model"] == "qwen2.5:7b"
    assert sent.headers["authorization"] == "Bearer not-needed"
    assert LocalProvider().info().models == ["qwen2.5:7b"]


def test_is_configured_follows_the_settings(provider_env: SetEnv) -> None:
    assert not OpenAIProvider().is_configured() and not LocalProvider().is_configured()
    provider_env(OPENAI_API_KEY=KEY)
    assert OpenAIProvider().is_configured() and not LocalProvider().is_configured()
    provider_env(LOCAL_LLM_BASE_URL="http://127.0.0.1:11434/v1")
    assert LocalProvider().is_configured()


async def test_service_refuses_an_unconfigured_openai_provider(provider_env: SetEnv) -> None:
    with pytest.raises(ProviderNotConfigured, match="'openai' is not configured"):
        await service.generate(GenerateRequest(prompt="hello"), provider="openai")
