"""One contract every registered provider keeps; new providers join this table automatically.

Providers that call a server are pointed at the loopback OpenAI, Anthropic or Gemini API server, never at the internet.
"""

from __future__ import annotations

import pytest

from services.ai.base import AIProvider, GenerateRequest
from services.ai.registry import PROVIDERS
from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.fakes.google_server import FakeGoogleServer
from tests.fakes.openai_server import FakeOpenAIServer
from tests.unit.services.ai.conftest import SetEnv

pytestmark = pytest.mark.parametrize("provider_class", list(PROVIDERS.values()), ids=list(PROVIDERS))


@pytest.fixture(autouse=True)
def _loopback_servers(openai_server: FakeOpenAIServer, anthropic_server: FakeAnthropicServer,
                      google_server: FakeGoogleServer, provider_env: SetEnv) -> None:
    provider_env(OPENAI_API_KEY="sk-contract", OPENAI_BASE_URL=openai_server.base_url,
                 LOCAL_LLM_BASE_URL=openai_server.base_url,
                 ANTHROPIC_API_KEY="sk-ant-contract", ANTHROPIC_BASE_URL=anthropic_server.base_url,
                 GOOGLE_API_KEY="google-contract", GOOGLE_BASE_URL=google_server.base_url)


def test_provider_declares_its_name_display_name_and_models(provider_class: type[AIProvider]) -> None:
    assert PROVIDERS[provider_class.name] is provider_class
    assert provider_class.display_name and provider_class.models
    assert isinstance(provider_class.is_language_model, bool)


async def test_generate_names_provider_and_model_and_stream_matches_it(provider_class: type[AIProvider]) -> None:
    provider = provider_class()
    if not provider.is_configured():
        pytest.skip(f"{provider_class.name} is not configured here")
    request = GenerateRequest(prompt="Say hello to the team.", max_tokens=64)
    result = await provider.generate(request)
    assert (result.provider, result.model) == (provider_class.name, provider.available_models()[0])
    assert result.usage.output_tokens <= request.max_tokens
    assert "".join([chunk async for chunk in provider.stream(request)]) == result.text
