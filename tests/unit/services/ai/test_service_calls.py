"""The service around provider calls, against the loopback OpenAI server through the real SDK:
retries that honour Retry-After, fallback along AI_FALLBACK_CHAIN, cost from the price table,
usage rows, the answer cache (streaming replays too) and budgets."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from models.ai_usage import AIUsage
from models.user import User, UserCreate
from services.ai import service
from services.ai.base import GenerateRequest, GenerateResult
from services.ai.budgets import BudgetExceeded
from services.ai.errors import ProviderFailed
from services.ai.pricing import price_of
from services.ai.usage import CallContext
from services.auth import service as auth
from services.db import get_engine, open_session
from tests.fakes.openai_server import FakeOpenAIServer
from tests.settings_env import configure
from tests.unit.services.ai.conftest import SetEnv

KEY = "sk-test-service-0123456789"
USAGE = AIUsage.__table__  # type: ignore[attr-defined]


@pytest.fixture
def openai_and_local(openai_server: FakeOpenAIServer, provider_env: SetEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    """openai and local both on the loopback server; fast retries; fallback openai → local."""
    monkeypatch.setenv("AI_RETRY_BASE_SECONDS", "0.01")
    monkeypatch.setenv("AI_MAX_RETRIES", "2")
    provider_env(OPENAI_API_KEY=KEY, OPENAI_BASE_URL=openai_server.base_url,
                 LOCAL_LLM_BASE_URL=openai_server.base_url, LOCAL_LLM_MODEL="qwen2.5:7b")


async def usage_rows() -> list[Any]:
    async with get_engine().connect() as conn:
        return list((await conn.execute(select(USAGE).order_by(USAGE.c.id))).mappings().all())


async def make_user() -> User:
    async with open_session() as session:
        return await auth.register(UserCreate(email=f"ai-{uuid.uuid4().hex[:8]}@example.com",
                                              password="amber-falcon-lantern-42"), session=session)


REQUEST = GenerateRequest(prompt="Summarise the quarterly report", max_tokens=50)


@pytest.mark.usefixtures("openai_and_local")
async def test_a_call_records_its_usage_and_cost_from_the_price_table(openai_server: FakeOpenAIServer) -> None:
    user = await make_user()
    result = await service.generate(REQUEST, provider="openai", context=CallContext(user_id=user.id))
    price = price_of("openai", "gpt-4o-mini")
    assert price is not None
    expected = (result.usage.input_tokens * price.input + result.usage.output_tokens * price.output) / 1e6
    assert result.usage.cost_usd == pytest.approx(expected) and result.usage.cost_usd > 0
    assert (result.provider, result.cached, result.fallback_from) == ("openai", False, [])
    assert result.latency_ms > 0
    [row] = await usage_rows()
    assert (row["user_id"], row["operation"], row["provider"], row["model"]) == (user.id, "generate", "openai",
                                                                                 "gpt-4o-mini")
    assert (row["input_tokens"], row["output_tokens"]) == (result.usage.input_tokens, result.usage.output_tokens)
    assert row["cost_usd"] == pytest.approx(expected) and row["cached"] is False


@pytest.mark.usefixtures("openai_and_local")
async def test_retry_after_is_waited_out_before_the_retry(openai_server: FakeOpenAIServer) -> None:
    openai_server.fail_next(429, retry_after="1")
    started = time.monotonic()
    result = await service.generate(REQUEST, provider="openai")
    assert time.monotonic() - started >= 1.0  # the server asked for a second; the backoff alone is ~10 ms
    assert len(openai_server.requests) == 2
    assert (result.provider, result.fallback_from) == ("openai", [])


@pytest.mark.usefixtures("openai_and_local")
async def test_failing_provider_falls_back_along_the_chain(openai_server: FakeOpenAIServer,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, AI_FALLBACK_CHAIN="openai,anthropic,local,builtin")  # anthropic is not configured
    openai_server.fail_next(500, times=3)  # the first try and both retries of openai
    result = await service.generate(REQUEST, provider="openai")
    assert (result.provider, result.model, result.fallback_from) == ("local", "qwen2.5:7b", ["openai"])
    assert [request.body["model"] for request in openai_server.requests] == ["gpt-4o-mini"] * 3 + ["qwen2.5:7b"]
    [row] = await usage_rows()
    assert (row["provider"], row["fallback_from"]) == ("local", "openai")


@pytest.mark.usefixtures("openai_and_local")
async def test_a_retry_after_longer_than_the_limit_moves_on_at_once(openai_server: FakeOpenAIServer,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, AI_FALLBACK_CHAIN="local", AI_RETRY_MAX_WAIT_SECONDS="0.5")
    openai_server.fail_next(429, retry_after="30")
    started = time.monotonic()
    result = await service.generate(REQUEST, provider="openai")
    assert time.monotonic() - started < 10
    assert (result.provider, result.fallback_from) == ("local", ["openai"])
    assert len(openai_server.requests) == 2


@pytest.mark.usefixtures("openai_and_local")
async def test_without_a_fallback_the_providers_error_comes_back(openai_server: FakeOpenAIServer) -> None:
    openai_server.fail_next(500, times=3, message="The engine is overloaded.")
    with pytest.raises(ProviderFailed, match="overloaded") as caught:
        await service.generate(REQUEST, provider="openai", fallback=False)
    assert caught.value.retryable
    assert len(openai_server.requests) == 3
    assert await usage_rows() == []


@pytest.mark.usefixtures("openai_and_local")
async def test_when_every_provider_fails_the_error_names_them(openai_server: FakeOpenAIServer,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, AI_FALLBACK_CHAIN="local", AI_MAX_RETRIES="0")
    openai_server.fail_next(503, times=2)
    with pytest.raises(ProviderFailed, match=r"Every AI provider tried failed \(openai, local\)"):
        await service.generate(REQUEST, provider="openai")


@pytest.mark.usefixtures("openai_and_local")
async def test_identical_requests_are_answered_from_the_cache(openai_server: FakeOpenAIServer,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, AI_CACHE_TTL_SECONDS="60")
    first = await service.generate(REQUEST, provider="openai")
    second = await service.generate(REQUEST, provider="openai")
    other = await service.generate(REQUEST.model_copy(update={"temperature": 0.1}), provider="openai")
    assert len(openai_server.requests) == 2  # the third differs in temperature
    assert second.text == first.text and second.cached and second.usage.cost_usd == 0
    assert not first.cached and not other.cached
    rows = await usage_rows()
    assert [(row["cached"], row["cost_usd"] > 0) for row in rows] == [(False, True), (True, False), (False, True)]

    pieces = [piece async for piece in service.stream_answer(REQUEST, provider="openai")]
    *texts, final = pieces
    assert "".join(str(text) for text in texts) == first.text and len(texts) > 1
    assert isinstance(final, GenerateResult) and final.cached
    assert len(openai_server.requests) == 2


@pytest.mark.usefixtures("openai_and_local")
async def test_a_stream_ends_with_its_result_and_records_usage(openai_server: FakeOpenAIServer) -> None:
    pieces = [piece async for piece in service.stream_answer(REQUEST, provider="openai")]
    *texts, final = pieces
    assert isinstance(final, GenerateResult)
    assert "".join(str(text) for text in texts) == final.text == "You said: report quarterly the Summarise"
    assert final.usage.output_tokens > 0 and final.usage.cost_usd > 0
    [row] = await usage_rows()
    assert (row["operation"], row["output_tokens"]) == ("stream", final.usage.output_tokens)


@pytest.mark.usefixtures("openai_and_local")
async def test_a_stream_falls_back_when_the_provider_fails_before_any_text(
        openai_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, AI_FALLBACK_CHAIN="local", AI_MAX_RETRIES="0")
    openai_server.fail_next(500)
    *texts, final = [piece async for piece in service.stream_answer(REQUEST, provider="openai")]
    assert isinstance(final, GenerateResult)
    assert (final.provider, final.fallback_from) == ("local", ["openai"])
    assert "".join(str(text) for text in texts) == final.text


@pytest.mark.usefixtures("openai_and_local")
async def test_a_spent_daily_budget_stops_the_call_or_switches_to_a_free_provider(
        openai_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, AI_BUDGET_PER_USER_DAILY_USD="0.000001")
    user = await make_user()
    context = CallContext(user_id=user.id)
    await service.generate(REQUEST, provider="openai", context=context)  # this call spends past the cap
    with pytest.raises(BudgetExceeded, match=r"daily budget of \$0\.00.*AI_BUDGET_PER_USER_DAILY_USD"):
        await service.generate(REQUEST, provider="openai", context=context)
    assert len(openai_server.requests) == 1
    cheaper = await service.generate(REQUEST, provider="openai", context=context, allow_cheaper=True)
    assert cheaper.provider == "local"  # free and a language model: preferred to builtin
    assert cheaper.usage.cost_usd == 0
    other_user = await make_user()
    assert (await service.generate(REQUEST, provider="openai", context=CallContext(user_id=other_user.id))).provider \
        == "openai"


@pytest.mark.usefixtures("openai_and_local")
async def test_usage_totals_group_by_day_provider_and_model(openai_server: FakeOpenAIServer) -> None:
    user = await make_user()
    context = CallContext(user_id=user.id)
    await service.generate(REQUEST, provider="openai", context=context)
    await service.generate(REQUEST, provider="local", context=context)
    await service.generate(REQUEST, provider="openai")  # someone else (no user)
    mine = await service.usage_totals(user_id=user.id, days=7)
    assert sorted((total.provider, total.calls) for total in mine) == [("local", 1), ("openai", 1)]
    everyone = await service.usage_totals(user_id=None, days=7)
    assert sum(total.calls for total in everyone) == 3
    assert all(total.day == time.strftime("%Y-%m-%d", time.gmtime()) for total in everyone)


@pytest.mark.parametrize(("field", "value"), [("prompt", "x" * 200_001), ("temperature", 2.5), ("max_tokens", 0)])
def test_out_of_range_requests_are_refused_with_the_field_named(field: str, value: object) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=field):
        GenerateRequest.model_validate({"prompt": "hi", field: value})


@pytest.mark.usefixtures("openai_and_local")
async def test_a_stream_stopped_midway_still_records_what_was_sent(openai_server: FakeOpenAIServer) -> None:
    answer = service.stream_answer(GenerateRequest(prompt="one two three four five six seven eight"),
                                   provider="openai")
    taken = [await anext(answer), await anext(answer)]
    await answer.aclose()  # what the AI Studio's Stop button and a dropped SSE connection do
    [row] = await usage_rows()
    assert (row["operation"], row["provider"]) == ("stream", "openai")
    assert row["output_tokens"] == len("".join(str(piece) for piece in taken).split())
    assert row["input_tokens"] == 8 and row["cost_usd"] > 0
