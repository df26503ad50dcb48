"""Embeddings through the official SDK against the loopback OpenAI server: vectors, usage rows, refusals."""

from __future__ import annotations

import math
from typing import Any

import pytest
from sqlalchemy import select

from models.ai_usage import AIUsage
from services import errors
from services.ai import service
from services.ai.errors import ProviderFailed, UnsupportedOperation
from services.db import get_engine
from tests.fakes.openai_server import EMBEDDING_DIMENSIONS, FakeOpenAIServer
from tests.unit.services.ai.conftest import SetEnv

KEY = "sk-test-embed-0123456789"
USAGE = AIUsage.__table__  # type: ignore[attr-defined]


@pytest.fixture
def openai_and_local(openai_server: FakeOpenAIServer, provider_env: SetEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_MAX_RETRIES", "1")
    monkeypatch.setenv("AI_RETRY_BASE_SECONDS", "0.01")
    provider_env(OPENAI_API_KEY=KEY, OPENAI_BASE_URL=openai_server.base_url,
                 LOCAL_LLM_BASE_URL=openai_server.base_url)


async def _usage_rows() -> list[dict[str, Any]]:
    async with get_engine().connect() as conn:
        return [dict(row) for row in (await conn.execute(select(USAGE).order_by(USAGE.c.id))).mappings().all()]


def _cosine(left: list[float], right: list[float]) -> float:
    return sum(x * y for x, y in zip(left, right, strict=True)) / (
        math.sqrt(sum(x * x for x in left)) * math.sqrt(sum(y * y for y in right)))


@pytest.mark.usefixtures("openai_and_local")
async def test_openai_embeds_each_text_in_order_and_records_usage(openai_server: FakeOpenAIServer) -> None:
    result = await service.embed(["invoice payment due", "invoice payment", "garden tomatoes"], provider="openai")

    assert (result.provider, result.model) == ("openai", "text-embedding-3-small")
    assert [len(vector) for vector in result.vectors] == [EMBEDDING_DIMENSIONS] * 3
    first, similar, unrelated = result.vectors
    assert _cosine(first, similar) > _cosine(first, unrelated)
    [call] = openai_server.requests
    assert call.body["model"] == "text-embedding-3-small" and call.headers["authorization"] == f"Bearer {KEY}"
    [row] = await _usage_rows()
    assert (row["operation"], row["provider"], row["model"]) == ("embed", "openai", "text-embedding-3-small")
    assert (row["input_tokens"], row["output_tokens"]) == (7, 0) and result.usage.input_tokens == 7


@pytest.mark.usefixtures("openai_and_local")
async def test_local_uses_its_embedding_model_setting(openai_server: FakeOpenAIServer, provider_env: SetEnv) -> None:
    assert (await service.embed(["hello"], provider="local")).model == "nomic-embed-text"
    provider_env(LOCAL_EMBEDDING_MODEL="mxbai-embed-large")
    assert (await service.embed(["hello"], provider="local")).model == "mxbai-embed-large"
    assert [call.body["model"] for call in openai_server.requests] == ["nomic-embed-text", "mxbai-embed-large"]


@pytest.mark.usefixtures("openai_and_local")
async def test_without_a_provider_the_embedding_provider_setting_chooses(provider_env: SetEnv) -> None:
    provider_env(AI_EMBEDDING_PROVIDER="local")

    assert (await service.embed(["hello"])).provider == "local"


@pytest.mark.usefixtures("openai_and_local")
async def test_a_provider_without_embeddings_is_unsupported() -> None:
    with pytest.raises(UnsupportedOperation, match="does not embed"):
        await service.embed(["hello"], provider="builtin")
    assert await _usage_rows() == []


@pytest.mark.usefixtures("openai_and_local")
@pytest.mark.parametrize("texts", [[], ["ok", "  "], ["x"] * 2049])
async def test_no_texts_a_blank_text_or_too_many_are_refused(texts: list[str]) -> None:
    with pytest.raises(errors.ValidationFailed):
        await service.embed(texts, provider="openai")


@pytest.mark.usefixtures("openai_and_local")
async def test_an_unknown_embedding_model_is_refused_before_any_call(openai_server: FakeOpenAIServer) -> None:
    with pytest.raises(errors.ValidationFailed, match="text-embedding-3-small"):
        await service.embed(["hello"], provider="openai", model="gpt-4o")
    assert openai_server.requests == []


@pytest.mark.usefixtures("openai_and_local")
async def test_server_errors_are_retried_then_reported_like_generate(openai_server: FakeOpenAIServer) -> None:
    openai_server.fail_next(503, times=1)
    assert len((await service.embed(["hello"], provider="openai")).vectors) == 1

    openai_server.fail_next(400, message="Input too long.")
    with pytest.raises(ProviderFailed, match="HTTP 400: Input too long") as failure:
        await service.embed(["hello"], provider="openai")
    assert failure.value.retryable is False
    assert KEY not in failure.value.message


async def test_google_embeds_through_batch_embed_contents(google_server: Any, provider_env: SetEnv) -> None:
    provider_env(GOOGLE_API_KEY="g-test-embed-key", GOOGLE_BASE_URL=google_server.base_url)
    texts = ["solar panels on the roof", "solar panels in the field", "a recipe for bread"]
    result = await service.embed(texts, provider="google")
    assert (result.provider, result.model) == ("google", "gemini-embedding-001")
    assert [len(vector) for vector in result.vectors] == [EMBEDDING_DIMENSIONS] * 3
    assert _cosine(result.vectors[0], result.vectors[1]) > _cosine(result.vectors[0], result.vectors[2])
    [sent] = google_server.requests
    assert sent.path == "/v1beta/models/gemini-embedding-001:batchEmbedContents"
    assert [item["content"]["parts"][0]["text"] for item in sent.body["requests"]] == texts
    assert sent.headers["x-goog-api-key"] == "g-test-embed-key"
    [row] = await _usage_rows()
    assert (row["operation"], row["provider"], row["input_tokens"]) == ("embed", "google", 14)


async def test_google_embedding_failures_are_mapped(google_server: Any, provider_env: SetEnv,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_MAX_RETRIES", "0")
    provider_env(GOOGLE_API_KEY="g-test-embed-key", GOOGLE_BASE_URL=google_server.base_url)
    google_server.fail_next(503)
    with pytest.raises(ProviderFailed) as caught:
        await service.embed(["anything"], provider="google")
    assert caught.value.retryable
    with pytest.raises(errors.ValidationFailed, match="no embedding model 'nope'"):
        await service.embed(["anything"], provider="google", model="nope")
