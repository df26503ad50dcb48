"""The service functions: input checks, provider choice, and errors users can act on."""

from __future__ import annotations

from typing import ClassVar

import pytest

from services import errors
from services.ai import registry, service
from services.ai.base import ANALYSIS_KINDS, AIProvider, GenerateRequest, GenerateResult, Usage
from services.ai.errors import ProviderNotConfigured, UnsupportedOperation
from tests.unit.services.ai import texts


class UnconfiguredProvider(AIProvider):
    name: ClassVar[str] = "unconfigured"
    display_name: ClassVar[str] = "Needs a key"
    is_language_model: ClassVar[bool] = True
    models: ClassVar[tuple[str, ...]] = ("large",)

    def is_configured(self) -> bool:
        return False

    async def generate(self, request: GenerateRequest) -> GenerateResult:
        return GenerateResult(text="", provider=self.name, model="large", usage=Usage())


class GenerateOnlyProvider(UnconfiguredProvider):
    name: ClassVar[str] = "generate-only"

    def is_configured(self) -> bool:
        return True


async def test_analyze_defaults_to_every_kind() -> None:
    result = await service.analyze(texts.SOLAR)
    assert all(getattr(result, kind) is not None for kind in ANALYSIS_KINDS)
    assert result.provider == "builtin"


async def test_analyze_keeps_the_requested_kinds_once_each() -> None:
    result = await service.analyze(texts.SOLAR, ["language", "language"])
    assert list(result.metadata["methods"]) == ["language"]


@pytest.mark.parametrize("text", ["", "   \n"])
async def test_analyze_refuses_blank_text(text: str) -> None:
    with pytest.raises(errors.ValidationFailed, match="no text to analyse"):
        await service.analyze(text)


async def test_analyze_refuses_an_unknown_kind_listing_the_known_ones() -> None:
    with pytest.raises(errors.ValidationFailed, match="Unknown analysis 'tone'; choose from: sentiment, keywords"):
        await service.analyze(texts.SOLAR, ["tone"])  # type: ignore[list-item]


async def test_generate_refuses_a_request_without_prompt_or_messages() -> None:
    with pytest.raises(errors.ValidationFailed, match="no prompt and no messages"):
        await service.generate(GenerateRequest(prompt="  "))


async def test_generate_refuses_an_unknown_model_listing_the_provider_models() -> None:
    with pytest.raises(errors.ValidationFailed, match="no model 'gpt-4o'; choose one of: builtin-offline"):
        await service.generate(GenerateRequest(prompt="Hello", model="gpt-4o"))


async def test_stream_through_the_service_equals_generate() -> None:
    request = GenerateRequest(prompt=f"Digest:\n{texts.SOLAR}")
    joined = "".join([chunk async for chunk in service.stream(request)])
    assert joined == (await service.generate(request)).text


async def test_unconfigured_provider_is_refused_with_a_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.PROVIDERS, "unconfigured", UnconfiguredProvider)
    with pytest.raises(ProviderNotConfigured, match="'unconfigured' is not configured"):
        await service.generate(GenerateRequest(prompt="Hello"), provider="unconfigured")


async def test_analysis_on_a_provider_without_it_is_an_unsupported_operation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.PROVIDERS, "generate-only", GenerateOnlyProvider)
    with pytest.raises(UnsupportedOperation, match="does not analyse text"):
        await service.analyze(texts.SOLAR, provider="generate-only")


def test_list_providers_describes_each_registered_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.PROVIDERS, "unconfigured", UnconfiguredProvider)
    listed = {info.name: info for info in service.list_providers()}
    assert listed["builtin"].configured and not listed["builtin"].is_language_model
    assert listed["builtin"].models == ["builtin-offline"]
    assert not listed["unconfigured"].configured and listed["unconfigured"].is_language_model
