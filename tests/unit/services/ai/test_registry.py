"""The provider registry: explicit, duplicate-free, with a settings-driven default."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pytest

from services import errors
from services.ai import registry
from services.ai.base import AIProvider, GenerateRequest, GenerateResult, Usage
from services.ai.providers.builtin import BuiltinProvider
from services.settings import get_settings


class EchoProvider(AIProvider):
    name: ClassVar[str] = "echo"
    display_name: ClassVar[str] = "Echo"
    is_language_model: ClassVar[bool] = False
    models: ClassVar[tuple[str, ...]] = ("echo-1",)

    def is_configured(self) -> bool:
        return True

    async def generate(self, request: GenerateRequest) -> GenerateResult:
        return GenerateResult(text=request.prompt, provider=self.name, model="echo-1", usage=Usage())


class AnotherBuiltin(EchoProvider):
    name: ClassVar[str] = "builtin"


@pytest.fixture
def default_provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Lets a test set ``AI_DEFAULT_PROVIDER``; settings are re-read before and after."""
    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.delenv("AI_DEFAULT_PROVIDER", raising=False)
    get_settings.cache_clear()


def test_registry_refuses_two_providers_with_the_same_name() -> None:
    with pytest.raises(ValueError, match="'builtin' is used by both BuiltinProvider and AnotherBuiltin"):
        registry.build_registry([BuiltinProvider, AnotherBuiltin])


def test_registry_refuses_a_malformed_provider_name() -> None:
    class Shouting(EchoProvider):
        name: ClassVar[str] = "Shouting Provider"

    with pytest.raises(ValueError, match="lowercase"):
        registry.build_registry([Shouting])


def test_builtin_is_registered_and_listed() -> None:
    assert registry.available_providers()[0] == "builtin"
    assert isinstance(registry.get_provider("builtin"), BuiltinProvider)
    assert isinstance(registry.get_provider(" Builtin "), BuiltinProvider)


def test_unknown_provider_is_a_validation_error_naming_the_available_ones() -> None:
    with pytest.raises(errors.ValidationFailed, match=r"Unknown AI provider 'gpt-9'.*available providers: builtin"):
        registry.get_provider("gpt-9")


def test_default_provider_is_builtin_out_of_the_box(default_provider: pytest.MonkeyPatch) -> None:
    default_provider.delenv("AI_DEFAULT_PROVIDER", raising=False)
    assert isinstance(registry.get_provider(None), BuiltinProvider)
    assert isinstance(registry.get_provider(""), BuiltinProvider)


def test_default_provider_comes_from_the_ai_default_provider_setting(default_provider: pytest.MonkeyPatch) -> None:
    default_provider.setitem(registry.PROVIDERS, "echo", EchoProvider)
    default_provider.setenv("AI_DEFAULT_PROVIDER", "echo")
    assert isinstance(registry.get_provider(None), EchoProvider)


def test_unknown_default_provider_names_the_setting(default_provider: pytest.MonkeyPatch) -> None:
    default_provider.setenv("AI_DEFAULT_PROVIDER", "missing")
    with pytest.raises(errors.ValidationFailed, match="'missing' \\(set by AI_DEFAULT_PROVIDER\\)"):
        registry.get_provider(None)
