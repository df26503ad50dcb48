"""The explicit list of AI providers, by name. A duplicate name stops the import."""

from __future__ import annotations

import re
from collections.abc import Iterable

from services import errors
from services.ai.base import AIProvider
from services.ai.providers.anthropic import AnthropicProvider
from services.ai.providers.builtin import BuiltinProvider
from services.ai.providers.google import GoogleProvider
from services.ai.providers.local import LocalProvider
from services.ai.providers.openai import OpenAIProvider
from services.settings import get_settings

_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


def build_registry(providers: Iterable[type[AIProvider]]) -> dict[str, type[AIProvider]]:
    """Providers keyed by name; raises ValueError on a duplicate or malformed name."""
    registry: dict[str, type[AIProvider]] = {}
    for provider in providers:
        if not _NAME.match(provider.name):
            msg = f"AI provider name {provider.name!r} must be lowercase letters, digits, '-' or '_'"
            raise ValueError(msg)
        if provider.name in registry:
            msg = (f"AI provider name {provider.name!r} is used by both {registry[provider.name].__name__} "
                   f"and {provider.__name__}")
            raise ValueError(msg)
        registry[provider.name] = provider
    return registry


PROVIDERS: dict[str, type[AIProvider]] = build_registry([
    BuiltinProvider,
    OpenAIProvider,
    LocalProvider,
    AnthropicProvider,
    GoogleProvider,
])


def available_providers() -> list[str]:
    """The registered provider names, in registration order."""
    return list(PROVIDERS)


def get_provider(name: str | None) -> AIProvider:
    """A new instance of the provider called ``name``; ``None`` or blank means ``AI_DEFAULT_PROVIDER``.

    Raises ValidationFailed naming the available providers when the name is unknown.
    """
    requested = (name or "").strip().lower()
    if requested:
        return _instantiate(requested, setting=None)
    return _instantiate(get_settings().ai_default_provider.strip().lower(), setting="AI_DEFAULT_PROVIDER")


def _instantiate(name: str, *, setting: str | None) -> AIProvider:
    provider = PROVIDERS.get(name)
    if provider is None:
        available = ", ".join(PROVIDERS)
        where = f" (set by {setting})" if setting else ""
        raise errors.ValidationFailed(
            f"Unknown AI provider '{name}'{where}; available providers: {available}.",
            details=[{"field": "provider", "message": f"unknown provider; choose one of: {available}"}],
        )
    return provider()
