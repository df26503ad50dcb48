"""Generate and analyse text through a chosen provider: what workflow nodes and the API call.

Fallback chains, caching and budgets will live here; providers stay unaware of them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from services import errors
from services.ai.base import (
    ANALYSIS_KINDS,
    AIProvider,
    AnalysisKind,
    AnalyzeResult,
    GenerateRequest,
    GenerateResult,
    ProviderInfo,
)
from services.ai.errors import ProviderNotConfigured
from services.ai.registry import available_providers, get_provider


async def generate(request: GenerateRequest, *, provider: str | None = None) -> GenerateResult:
    """The provider's answer to ``request``; ``provider=None`` uses ``AI_DEFAULT_PROVIDER``.

    Raises ValidationFailed for an unknown provider or model or an empty request, and
    ProviderNotConfigured when the provider lacks its settings.
    """
    _require_input(request)
    return await _ready_provider(provider).generate(request)


async def stream(request: GenerateRequest, *, provider: str | None = None) -> AsyncIterator[str]:
    """The answer to ``request`` piece by piece; the joined pieces equal ``generate``'s text.

    Raises as ``generate`` does, when the first piece is awaited.
    """
    _require_input(request)
    async for chunk in _ready_provider(provider).stream(request):
        yield chunk


async def analyze(text: str, kinds: Sequence[AnalysisKind] = ANALYSIS_KINDS, *,
                  provider: str | None = None) -> AnalyzeResult:
    """The analyses named in ``kinds`` (all by default) of ``text``; fields for other kinds are ``None``.

    Raises ValidationFailed for blank text, an unknown kind or provider, and UnsupportedOperation
    when the provider does not analyse text.
    """
    if not text.strip():
        raise errors.ValidationFailed("There is no text to analyse; pass a non-empty text.",
                                      details=[{"field": "text", "message": "must not be empty"}])
    return await _ready_provider(provider).analyze(text, _validated_kinds(kinds))


def list_providers() -> list[ProviderInfo]:
    """Every registered provider with its models and whether this deployment has it configured."""
    return [get_provider(name).info() for name in available_providers()]


def _ready_provider(name: str | None) -> AIProvider:
    provider = get_provider(name)
    if not provider.is_configured():
        raise ProviderNotConfigured(
            f"The AI provider '{provider.name}' is not configured on this server; "
            "ask an administrator to set it up, or choose another provider.",
            details=[{"field": "provider", "message": "not configured"}],
        )
    return provider


def _require_input(request: GenerateRequest) -> None:
    if not request.prompt.strip() and not any(message.content.strip() for message in request.messages):
        raise errors.ValidationFailed("The request has no prompt and no messages; write a prompt.",
                                      details=[{"field": "prompt", "message": "must not be empty"}])


def _validated_kinds(kinds: Sequence[str]) -> list[AnalysisKind]:
    """``kinds`` without repeats, in the order given; refuses unknown kinds and an empty choice."""
    known: dict[str, AnalysisKind] = {kind: kind for kind in ANALYSIS_KINDS}
    unknown = [kind for kind in kinds if kind not in known]
    if unknown or not kinds:
        offered = ", ".join(ANALYSIS_KINDS)
        problem = f"Unknown analysis {', '.join(map(repr, unknown))}" if unknown else "No analysis was chosen"
        raise errors.ValidationFailed(f"{problem}; choose from: {offered}.",
                                      details=[{"field": "kinds", "message": f"choose from: {offered}"}])
    return list(dict.fromkeys(known[kind] for kind in kinds))
