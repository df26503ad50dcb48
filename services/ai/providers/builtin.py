"""The offline provider: deterministic text analysis and digests, no network, no language model."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, ClassVar

from services.ai.base import AIProvider, AnalysisKind, AnalyzeResult, GenerateRequest, GenerateResult, Usage
from services.ai.providers.builtin_analysis import NOTE, analyze_text
from services.ai.providers.builtin_document import write_offline_document
from services.ai.text.placeholders import fill_placeholders
from services.ai.text.tokens import count_tokens, truncate_to_tokens


class BuiltinProvider(AIProvider):
    """Always available. ``analyze`` is real text analysis; ``generate`` writes an extractive digest."""

    name: ClassVar[str] = "builtin"
    display_name: ClassVar[str] = "Builtin (offline)"
    is_language_model: ClassVar[bool] = False
    models: ClassVar[tuple[str, ...]] = ("builtin-offline",)

    def is_configured(self) -> bool:
        """Always true: the provider needs no keys and no network."""
        return True

    async def generate(self, request: GenerateRequest) -> GenerateResult:
        """A Markdown digest of the prompt: its subject, and the summary and keywords of any text in it.

        Deterministic: the same request gives the same text. ``{{ name }}`` placeholders are filled
        from ``request.variables``; the output is cut at ``max_tokens`` words (finish reason
        ``length``). Without a prompt, the user messages are the prompt; the system prompt is unused.
        """
        model = self.resolve_model(request.model)
        prompt, unresolved = _prompt_text(request)
        document = await asyncio.to_thread(write_offline_document, prompt)
        text, cut = truncate_to_tokens(document.text, request.max_tokens)
        metadata: dict[str, Any] = {
            "note": NOTE,
            "subject": document.subject,
            "sections": document.sections,
            "source_words": document.material_words,
            "deterministic": True,
        }
        if unresolved:
            metadata["unresolved_variables"] = unresolved
        if document.material_truncated:
            metadata["source_truncated"] = True
        if request.system:
            metadata["system_prompt"] = "not used: the builtin provider does not follow instructions"
        return GenerateResult(
            text=text,
            provider=self.name,
            model=model,
            usage=Usage(input_tokens=_input_tokens(request), output_tokens=count_tokens(text), cost_usd=0.0),
            metadata=metadata,
            finish_reason="length" if cut else "stop",
        )

    async def analyze(self, text: str, kinds: Sequence[AnalysisKind]) -> AnalyzeResult:
        """Sentiment, keywords, summary, readability, language and entities, computed offline.

        Runs in a worker thread so the event loop stays free; texts past 200,000 characters are
        cut, and ``metadata`` then says so.
        """
        return await asyncio.to_thread(analyze_text, text, list(kinds), provider=self.name,
                                       model=self.models[0])


def _prompt_text(request: GenerateRequest) -> tuple[str, list[str]]:
    """The prompt with placeholders filled (or the user messages when there is no prompt), and unresolved names."""
    if request.prompt.strip():
        return fill_placeholders(request.prompt, request.variables)
    user_turns = [fill_placeholders(m.content, request.variables) for m in request.messages if m.role == "user"]
    return "\n\n".join(text for text, _ in user_turns), [name for _, names in user_turns for name in names]


def _input_tokens(request: GenerateRequest) -> int:
    parts = [request.system, request.prompt, *(message.content for message in request.messages)]
    return sum(count_tokens(fill_placeholders(part, request.variables)[0]) for part in parts)
