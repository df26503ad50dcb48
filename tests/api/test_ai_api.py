"""/api/v3/advanced/ai against a real database: the builtin provider offline, openai on the loopback server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from models.user import Role
from services.ai import service
from services.ai.base import GenerateResult
from services.ai.errors import ProviderFailed
from services.ai.response_cache import clear_memory_cache
from services.settings import get_settings
from tests.api.conftest import Headers, account
from tests.fakes.openai_server import FakeOpenAIServer
from tests.settings_env import configure

AI = "/api/v3/advanced/ai"
KEY = "sk-test-api-0123456789"
_PROVIDER_SETTINGS = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "LOCAL_LLM_BASE_URL", "LOCAL_LLM_MODEL",
                      "ANTHROPIC_API_KEY", "GOOGLE_API_KEY", "AI_FALLBACK_CHAIN", "AI_DEFAULT_PROVIDER",
                      "AI_BUDGET_PER_USER_DAILY_USD", "AI_BUDGET_PER_RUN_USD", "AI_MAX_RETRIES")


@dataclass(frozen=True)
class Accounts:
    admin: Headers
    editor: Headers
    viewer: Headers


@pytest.fixture(scope="module")
def _fake_openai() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def openai_server(_fake_openai: FakeOpenAIServer) -> Iterator[FakeOpenAIServer]:
    _fake_openai.reset()
    yield _fake_openai
    _fake_openai.reset()


@pytest.fixture(autouse=True)
def _no_providers_but_builtin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Only builtin is configured, no fallback, no budget, an empty answer cache; tests add what they need."""
    for name in _PROVIDER_SETTINGS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"DWC_{name}", raising=False)
    get_settings.cache_clear()
    clear_memory_cache()
    yield
    clear_memory_cache()
    get_settings.cache_clear()


@pytest.fixture
def openai(openai_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAIServer:
    """The openai provider on the loopback server, failing at once (no retries)."""
    configure(monkeypatch, OPENAI_API_KEY=KEY, OPENAI_BASE_URL=openai_server.base_url, AI_MAX_RETRIES="0")
    return openai_server


@pytest.fixture
async def accounts(live: httpx.AsyncClient) -> Accounts:
    return Accounts(admin=await account(live, "admin@example.com", Role.ADMIN),
                    editor=await account(live, "editor@example.com", Role.EDITOR),
                    viewer=await account(live, "viewer@example.com", Role.VIEWER))


def events_of(answer: httpx.Response) -> list[tuple[str, Any]]:
    """The (event, decoded data) pairs of a text/event-stream body."""
    events = []
    for block in answer.text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def fields_of(answer: httpx.Response) -> list[str]:
    return [problem["field"] for problem in answer.json()["error"]["details"]]


async def test_providers_are_listed_with_models_and_health_for_any_signed_in_user(
        live: httpx.AsyncClient, accounts: Accounts) -> None:
    answer = await live.get(f"{AI}/providers", headers=accounts.viewer)
    assert answer.status_code == 200, answer.text
    providers = {entry["name"]: entry for entry in answer.json()}
    assert {"builtin", "openai", "local", "anthropic", "google"} <= set(providers)
    assert providers["builtin"]["configured"] is True and providers["builtin"]["models"] == ["builtin-offline"]
    assert providers["builtin"]["health"]["status"] == "configured"
    assert providers["openai"]["configured"] is False and "gpt-4o-mini" in providers["openai"]["models"]
    assert providers["openai"]["health"] == {"status": "not_configured", "message": "", "latency_ms": None}


async def test_a_live_check_is_for_admins_and_reports_ok_with_latency_or_the_providers_error(
        live: httpx.AsyncClient, accounts: Accounts, openai: FakeOpenAIServer) -> None:
    assert (await live.get(f"{AI}/providers?check=true", headers=accounts.editor)).status_code == 403
    health = {e["name"]: e["health"] for e in (await live.get(f"{AI}/providers?check=true",
                                                               headers=accounts.admin)).json()}
    assert health["openai"]["status"] == "ok" and health["openai"]["latency_ms"] > 0
    assert health["builtin"]["status"] == "ok" and health["anthropic"]["status"] == "not_configured"
    assert [request.body["max_tokens"] for request in openai.requests] == [1]
    openai.fail_next(500, message="The engine is overloaded.")
    health = {e["name"]: e["health"] for e in (await live.get(f"{AI}/providers?check=true",
                                                               headers=accounts.admin)).json()}
    assert health["openai"]["status"] == "error" and "HTTP 500: The engine is overloaded" in health["openai"]["message"]
    assert health["builtin"]["status"] == "ok"


async def test_generate_with_the_builtin_provider_works_offline(live: httpx.AsyncClient, accounts: Accounts) -> None:
    answer = await live.post(f"{AI}/generate", headers=accounts.editor, json={
        "prompt": "Write about {{ topic }}: tides rise and fall twice a day because of the moon.",
        "variables": {"topic": "tides"}, "provider": "builtin"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["provider_used"], body["model"], body["cached"], body["fallback_from"]) == (
        "builtin", "builtin-offline", False, [])
    assert body["text"] and body["usage"]["cost_usd"] == 0 and body["usage"]["output_tokens"] > 0
    assert body["finish_reason"] == "stop" and body["metadata"]["deterministic"] is True


async def test_generate_with_openai_reaches_the_server_costs_money_and_repeats_from_the_cache(
        live: httpx.AsyncClient, accounts: Accounts, openai: FakeOpenAIServer) -> None:
    call = {"prompt": "the tide is high", "system": "Be brief.", "provider": "openai", "temperature": 0.2,
            "max_tokens": 20}
    first = (await live.post(f"{AI}/generate", headers=accounts.editor, json=call)).json()
    assert first["text"] == "You said: high is tide the" and first["provider_used"] == "openai"
    assert first["model"] == "gpt-4o-mini" and first["usage"]["output_tokens"] == 6
    assert first["usage"]["cost_usd"] > 0 and first["latency_ms"] > 0 and first["cached"] is False
    assert first["metadata"]["completion_id"] == "chatcmpl-fake"
    [request] = openai.requests
    assert request.headers["authorization"] == f"Bearer {KEY}" and request.body["temperature"] == 0.2
    assert request.body["messages"][0] == {"role": "system", "content": "Be brief."}
    again = (await live.post(f"{AI}/generate", headers=accounts.editor, json=call)).json()
    assert again["cached"] is True and again["text"] == first["text"] and again["usage"]["cost_usd"] == 0
    fresh = (await live.post(f"{AI}/generate", headers=accounts.editor, json={**call, "use_cache": False})).json()
    assert fresh["cached"] is False and len(openai.requests) == 2


@pytest.mark.parametrize("provider", ["builtin", "openai"])
async def test_streaming_sends_chunk_events_then_done_with_the_joined_text(
        live: httpx.AsyncClient, accounts: Accounts, openai: FakeOpenAIServer, provider: str) -> None:
    answer = await live.post(f"{AI}/generate", headers=accounts.editor, json={
        "prompt": "one two three four five six seven eight nine ten", "provider": provider, "stream": True})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/event-stream")
    events = events_of(answer)
    names = [name for name, _ in events]
    assert names[-1] == "done" and set(names[:-1]) == {"chunk"} and len(names) > 3
    done = events[-1][1]
    assert "".join(data["text"] for _, data in events[:-1]) == done["text"] and done["text"]
    assert done["provider_used"] == provider and done["cached"] is False
    if provider == "openai":
        assert done["text"] == "You said: ten nine eight seven six five four three two one"
        assert done["usage"]["output_tokens"] == 12 and done["usage"]["cost_usd"] > 0


@pytest.mark.parametrize("stream", [False, True])
async def test_a_provider_failure_before_any_text_is_a_json_502_with_its_message(
        live: httpx.AsyncClient, accounts: Accounts, openai: FakeOpenAIServer, stream: bool) -> None:
    openai.fail_next(500, message="The engine is overloaded.")
    answer = await live.post(f"{AI}/generate", headers=accounts.editor,
                             json={"prompt": "hello", "provider": "openai", "stream": stream})
    assert answer.status_code == 502 and answer.headers["content-type"] == "application/json"
    error = answer.json()["error"]
    assert error["code"] == "provider_failed" and "HTTP 500: The engine is overloaded" in error["message"]


async def test_a_failure_after_streaming_started_ends_with_an_error_event(
        live: httpx.AsyncClient, accounts: Accounts, monkeypatch: pytest.MonkeyPatch) -> None:
    async def breaks_midway(*_args: object, **_kwargs: object) -> AsyncIterator[str | GenerateResult]:
        yield "Once upon"
        yield " a time"
        raise ProviderFailed("The OpenAI provider stopped answering midway; try again.", retryable=True)

    monkeypatch.setattr(service, "stream_answer", breaks_midway)
    answer = await live.post(f"{AI}/generate", headers=accounts.editor, json={"prompt": "a story", "stream": True})
    assert answer.status_code == 200
    assert events_of(answer) == [
        ("chunk", {"text": "Once upon"}), ("chunk", {"text": " a time"}),
        ("error", {"error": {"code": "provider_failed", "details": None,
                             "message": "The OpenAI provider stopped answering midway; try again."}})]


async def test_viewers_cannot_generate_or_analyze(live: httpx.AsyncClient, accounts: Accounts) -> None:
    for path, body in (("generate", {"prompt": "hi"}), ("generate", {"prompt": "hi", "stream": True}),
                       ("analyze", {"text": "A fine day."})):
        answer = await live.post(f"{AI}/{path}", headers=accounts.viewer, json=body)
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "permission_denied"
        assert answer.json()["error"]["details"] == {"required": "use_ai"}


@pytest.mark.parametrize(("body", "field"), [
    ({"prompt": ""}, "prompt"),
    ({"prompt": "   ", "stream": True}, "prompt"),
    ({"prompt": "x" * 200_001}, "prompt"),
    ({"prompt": "hi", "temperature": 2.5}, "temperature"),
    ({"prompt": "hi", "max_tokens": 0}, "max_tokens"),
    ({"prompt": "hi", "provider": "nope"}, "provider"),
    ({"prompt": "hi", "provider": "nope", "stream": True}, "provider"),
    ({"prompt": "hi", "provider": "builtin", "model": "gpt-5"}, "model"),
    ({"prompt": "hi", "temprature": 0.5}, "temprature"),
])
async def test_bad_generate_input_is_a_422_naming_the_field(
        live: httpx.AsyncClient, accounts: Accounts, body: dict[str, Any], field: str) -> None:
    answer = await live.post(f"{AI}/generate", headers=accounts.editor, json=body)
    assert answer.status_code == 422, answer.text
    assert field in fields_of(answer) and field in answer.json()["error"]["message"]


async def test_a_provider_that_is_not_configured_is_a_422_listing_those_that_are(
        live: httpx.AsyncClient, accounts: Accounts) -> None:
    answer = await live.post(f"{AI}/generate", headers=accounts.editor, json={"prompt": "hi", "provider": "openai"})
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "provider_not_configured"
    assert fields_of(answer) == ["provider"] and "(builtin)" in answer.json()["error"]["message"]


async def test_analyze_returns_the_analyses_asked_for(live: httpx.AsyncClient, accounts: Accounts) -> None:
    text = ("The new harbour opened today. Fishermen in Brighton praised the wide berths and the calm water. "
            "Everyone agreed the harbour is a wonderful improvement for the town.")
    answer = await live.post(f"{AI}/analyze", headers=accounts.editor,
                             json={"text": text, "analyses": ["sentiment", "keywords", "summary"]})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["provider"] == "builtin" and result["sentiment"]["label"] == "positive"
    assert result["keywords"] and result["summary"] and result["readability"] is None


@pytest.mark.parametrize(("body", "field"), [
    ({"text": "  "}, "text"),
    ({"text": "Fine.", "analyses": ["sentiment", "horoscope"]}, "analyses.1"),
    ({"text": "Fine.", "analyses": []}, "analyses"),
    ({"text": "Fine.", "provider": "nope"}, "provider"),
])
async def test_bad_analyze_input_is_a_422_naming_the_field(
        live: httpx.AsyncClient, accounts: Accounts, body: dict[str, Any], field: str) -> None:
    answer = await live.post(f"{AI}/analyze", headers=accounts.editor, json=body)
    assert answer.status_code == 422 and field in fields_of(answer)


async def test_usage_totals_are_the_callers_own_and_everyones_for_admins(
        live: httpx.AsyncClient, accounts: Accounts, openai: FakeOpenAIServer) -> None:
    paid = (await live.post(f"{AI}/generate", headers=accounts.editor,
                            json={"prompt": "count my tokens", "provider": "openai"})).json()
    await live.post(f"{AI}/generate", headers=accounts.editor, json={"prompt": "offline words", "provider": "builtin"})
    await live.post(f"{AI}/analyze", headers=accounts.editor, json={"text": "A calm and pleasant morning."})
    await live.post(f"{AI}/generate", headers=accounts.admin, json={"prompt": "admin words", "provider": "builtin"})

    mine = (await live.get(f"{AI}/usage?days=7", headers=accounts.editor)).json()
    assert (mine["scope"], mine["days"]) == ("me", 7)
    by_provider = {(row["provider"], row["model"]): row for row in mine["rows"]}
    assert set(by_provider) == {("openai", "gpt-4o-mini"), ("builtin", "builtin-offline")}
    assert by_provider["builtin", "builtin-offline"]["calls"] == 2
    assert by_provider["openai", "gpt-4o-mini"]["output_tokens"] == paid["usage"]["output_tokens"]
    # usage.totals rounds each row's cost to micro-dollars
    assert mine["total"]["calls"] == 3 and mine["total"]["cost_usd"] == pytest.approx(paid["usage"]["cost_usd"],
                                                                                      abs=1e-6)
    assert mine["total"]["input_tokens"] == sum(row["input_tokens"] for row in mine["rows"])

    everyone = (await live.get(f"{AI}/usage", headers=accounts.admin)).json()
    assert everyone["scope"] == "all" and everyone["total"]["calls"] == 4
    own = (await live.get(f"{AI}/usage?scope=me", headers=accounts.admin)).json()
    assert own["total"]["calls"] == 1
    viewer = (await live.get(f"{AI}/usage", headers=accounts.viewer)).json()
    assert viewer["rows"] == [] and viewer["total"] == {"calls": 0, "cached_calls": 0, "input_tokens": 0,
                                                        "output_tokens": 0, "cost_usd": 0.0}
    assert (await live.get(f"{AI}/usage?scope=all", headers=accounts.editor)).status_code == 403
    too_long = await live.get(f"{AI}/usage?days=400", headers=accounts.editor)
    assert too_long.status_code == 422 and fields_of(too_long) == ["days"]


async def test_a_reached_daily_budget_is_a_403_budget_exceeded_unless_a_free_provider_is_allowed(
        live: httpx.AsyncClient, accounts: Accounts, openai: FakeOpenAIServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    call = {"prompt": "spend some money", "provider": "openai"}
    assert (await live.post(f"{AI}/generate", headers=accounts.editor, json=call)).status_code == 200
    configure(monkeypatch, AI_BUDGET_PER_USER_DAILY_USD="0.0000001")
    for body in (call, {**call, "stream": True}):
        refused = await live.post(f"{AI}/generate", headers=accounts.editor, json={**body, "use_cache": False})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "budget_exceeded"
        assert "AI_BUDGET_PER_USER_DAILY_USD" in refused.json()["error"]["message"]
    cheaper = await live.post(f"{AI}/generate", headers=accounts.editor, json={**call, "allow_cheaper": True})
    assert cheaper.status_code == 200 and cheaper.json()["provider_used"] == "builtin"
    assert len(openai.requests) == 1
    other = await live.post(f"{AI}/generate", headers=accounts.admin, json={**call, "use_cache": False})
    assert other.status_code == 200 and other.json()["provider_used"] == "openai" and len(openai.requests) == 2


async def _report_document(live: httpx.AsyncClient, headers: Headers, topic: str) -> None:
    """Run input → template → output, which saves a document titled after ``topic``."""
    graph = {"nodes": [{"id": "in", "type": "input", "config": {"fields": ["topic"]}},
                       {"id": "body", "type": "template", "config": {"template": "Notes on {{ in.topic }}."}},
                       {"id": "out", "type": "output", "config": {"title": "{{ in.topic }} report"}}],
             "edges": [{"source": "in", "target": "body"}, {"source": "body", "target": "out"}]}
    created = await live.post("/api/v3/workflows", headers=headers, json={"name": f"docs {topic}", "graph": graph})
    run = await live.post(f"/api/v3/workflows/{created.json()['id']}/execute", headers=headers,
                          json={"parameters": {"topic": topic}, "wait": True})
    assert run.json()["status"] == "succeeded", run.text


async def test_search_finds_the_callers_documents_and_everyones_for_admins(
        live: httpx.AsyncClient, accounts: Accounts) -> None:
    await _report_document(live, accounts.editor, "solar panels")
    await _report_document(live, accounts.editor, "river otters")
    await _report_document(live, accounts.admin, "solar farms")

    mine = await live.post(f"{AI}/search", headers=accounts.editor, json={"query": "solar"})
    assert mine.status_code == 200, mine.text
    assert [hit["title"] for hit in mine.json()] == ["solar panels report"]
    assert "**solar**" in mine.json()[0]["snippet"].lower() and mine.json()[0]["method"] == "fulltext"

    everyone = await live.post(f"{AI}/search", headers=accounts.admin, json={"query": "solar", "scope": "all"})
    assert sorted(hit["title"] for hit in everyone.json()) == ["solar farms report", "solar panels report"]
    assert (await live.post(f"{AI}/search", headers=accounts.viewer, json={"query": "solar"})).json() == []
    assert (await live.post(f"{AI}/search", headers=accounts.editor,
                            json={"query": "solar", "scope": "all"})).status_code == 403
    for body, field in (({"query": ""}, "query"), ({"query": "x" * 501}, "query"), ({"query": "a", "limit": 0},
                                                                                      "limit")):
        refused = await live.post(f"{AI}/search", headers=accounts.editor, json=body)
        assert refused.status_code == 422 and fields_of(refused) == [field], refused.text
    hostile = await live.post(f"{AI}/search", headers=accounts.editor, json={"query": '"AND OR ( * NEAR'})
    assert hostile.status_code == 200
