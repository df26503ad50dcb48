"""OpenAI's hosted models, or any gateway that serves them under ``OPENAI_BASE_URL``."""

from __future__ import annotations

from typing import ClassVar

from services.ai.providers.openai_compatible import OpenAICompatibleConnection, OpenAICompatibleProvider
from services.settings import get_settings

OPENAI_API_URL = "https://api.openai.com/v1"


class OpenAIProvider(OpenAICompatibleProvider):
    """Configured when ``OPENAI_API_KEY`` is set."""

    name: ClassVar[str] = "openai"
    display_name: ClassVar[str] = "OpenAI"
    models: ClassVar[tuple[str, ...]] = ("gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "gpt-4.1")
    embedding_models: ClassVar[tuple[str, ...]] = ("text-embedding-3-small", "text-embedding-3-large")
    credentials_hint: ClassVar[str] = "ask an administrator to check OPENAI_API_KEY"

    def is_configured(self) -> bool:
        """Whether an API key is set."""
        return bool(get_settings().openai_api_key.get_secret_value().strip())

    def connection(self) -> OpenAICompatibleConnection:
        """``OPENAI_BASE_URL`` (OpenAI's own when blank) with ``OPENAI_API_KEY``."""
        settings = get_settings()
        base_url = settings.openai_base_url.strip() or OPENAI_API_URL
        return OpenAICompatibleConnection(base_url=base_url, api_key=settings.openai_api_key,
                                          timeout_seconds=settings.ai_request_timeout_seconds)
