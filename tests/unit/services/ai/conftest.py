"""The loopback OpenAI, Anthropic and Google servers and a way to point provider settings at them for one test."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from services.ai.response_cache import clear_memory_cache
from services.db import dispose_engine
from services.settings import get_settings
from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.fakes.google_server import FakeGoogleServer
from tests.fakes.openai_server import FakeOpenAIServer
from tests.settings_env import SetEnv, settings_env

_PROVIDER_SETTINGS = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "LOCAL_LLM_BASE_URL", "LOCAL_LLM_MODEL",
                      "AI_REQUEST_TIMEOUT_SECONDS", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL",
                      "GOOGLE_API_KEY", "GOOGLE_BASE_URL")


@pytest.fixture(scope="session")
def _openai_server_process() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def openai_server(_openai_server_process: FakeOpenAIServer) -> Iterator[FakeOpenAIServer]:
    """The shared loopback server, with no requests recorded and nothing programmed."""
    _openai_server_process.reset()
    yield _openai_server_process
    _openai_server_process.reset()


@pytest.fixture(scope="session")
def _anthropic_server_process() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer() as server:
        yield server


@pytest.fixture
def anthropic_server(_anthropic_server_process: FakeAnthropicServer) -> Iterator[FakeAnthropicServer]:
    """The shared loopback Anthropic server, with no requests recorded and nothing programmed."""
    _anthropic_server_process.reset()
    yield _anthropic_server_process
    _anthropic_server_process.reset()


@pytest.fixture(scope="session")
def _google_server_process() -> Iterator[FakeGoogleServer]:
    with FakeGoogleServer() as server:
        yield server


@pytest.fixture
def google_server(_google_server_process: FakeGoogleServer) -> Iterator[FakeGoogleServer]:
    """The shared loopback Gemini API server, with no requests recorded and nothing programmed."""
    _google_server_process.reset()
    yield _google_server_process
    _google_server_process.reset()


@pytest.fixture
def provider_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[SetEnv]:
    """``provider_env(OPENAI_API_KEY="...")`` sets provider settings for one test; none are set before."""
    yield from settings_env(monkeypatch, _PROVIDER_SETTINGS)


@pytest.fixture(autouse=True)
async def _ai_database(sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    """Every AI test records usage in its own migrated SQLite file; the answer cache is off unless a test sets it."""
    path = tmp_path / "ai.db"
    shutil.copy(sqlite_template, path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("AI_CACHE_TTL_SECONDS", "0")
    get_settings.cache_clear()
    await dispose_engine()
    clear_memory_cache()
    yield
    await dispose_engine()
    get_settings.cache_clear()
