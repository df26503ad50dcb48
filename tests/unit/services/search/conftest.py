"""Search tests run on both databases (``live_db``); the loopback OpenAI server embeds for re-ranking."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.settings import get_settings
from tests.fakes.openai_server import FakeOpenAIServer
from tests.settings_env import settings_env


@pytest.fixture(scope="session")
def _embedding_server_process() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def embedding_server(_embedding_server_process: FakeOpenAIServer,
                     monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAIServer]:
    """The loopback server configured as ``AI_EMBEDDING_PROVIDER=openai`` for one test, no requests recorded."""
    _embedding_server_process.reset()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-search")
    monkeypatch.setenv("OPENAI_BASE_URL", _embedding_server_process.base_url)
    monkeypatch.setenv("AI_EMBEDDING_PROVIDER", "openai")
    monkeypatch.setenv("AI_MAX_RETRIES", "0")
    get_settings.cache_clear()
    yield _embedding_server_process
    _embedding_server_process.reset()
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _no_embedding_provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Full-text only unless a test asks for ``embedding_server``."""
    for _ in settings_env(monkeypatch, ("AI_EMBEDDING_PROVIDER", "OPENAI_API_KEY", "OPENAI_BASE_URL")):
        yield


