"""The loopback OpenAI server and a way to point provider settings at it for one test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from services.settings import get_settings
from tests.fakes.openai_server import FakeOpenAIServer

SetEnv = Callable[..., None]

_PROVIDER_SETTINGS = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "LOCAL_LLM_BASE_URL", "LOCAL_LLM_MODEL",
                      "AI_REQUEST_TIMEOUT_SECONDS")


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


@pytest.fixture
def provider_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[SetEnv]:
    """``provider_env(OPENAI_API_KEY="...")`` sets provider settings for one test; none are set before."""
    for name in _PROVIDER_SETTINGS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"DWC_{name}", raising=False)
    get_settings.cache_clear()

    def set_env(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    yield set_env
    get_settings.cache_clear()
