"""A language model on a server this deployment runs (Ollama, llama.cpp, vLLM) over the OpenAI protocol."""

from __future__ import annotations

from typing import ClassVar

from pydantic import SecretStr

from services.ai.providers.openai_compatible import OpenAICompatibleConnection, OpenAICompatibleProvider
from services.settings import get_settings

# Local servers ignore the key, but the SDK refuses to start without one.
_UNUSED_KEY = SecretStr("not-needed")


class LocalProvider(OpenAICompatibleProvider):
    """Configured when ``LOCAL_LLM_BASE_URL`` is set; offers the one model named by ``LOCAL_LLM_MODEL``."""

    name: ClassVar[str] = "local"
    display_name: ClassVar[str] = "Local model"
    models: ClassVar[tuple[str, ...]] = ("llama3.1",)
    credentials_hint: ClassVar[str] = "the server at LOCAL_LLM_BASE_URL wants a key this provider does not send"

    def is_configured(self) -> bool:
        """Whether a server address is set."""
        return bool(get_settings().local_llm_base_url.strip())

    def available_models(self) -> tuple[str, ...]:
        """The model the local server serves, from ``LOCAL_LLM_MODEL``."""
        return (get_settings().local_llm_model,)

    def available_embedding_models(self) -> tuple[str, ...]:
        """The embedding model the local server serves, from ``LOCAL_EMBEDDING_MODEL``."""
        return (get_settings().local_embedding_model,)

    def connection(self) -> OpenAICompatibleConnection:
        """``LOCAL_LLM_BASE_URL`` with a placeholder key."""
        settings = get_settings()
        return OpenAICompatibleConnection(base_url=settings.local_llm_base_url.strip(), api_key=_UNUSED_KEY,
                                          timeout_seconds=settings.ai_request_timeout_seconds)
