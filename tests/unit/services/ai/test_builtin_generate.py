"""The builtin provider's generate and stream: a deterministic, honestly labelled digest."""

from __future__ import annotations

from services.ai.base import ChatMessage, GenerateRequest
from services.ai.providers.builtin import BuiltinProvider
from services.ai.providers.builtin_document import HEADER
from services.ai.text.tokens import split_sentences
from tests.unit.services.ai import texts

provider = BuiltinProvider()
REPORT_PROMPT = f"Summarise this report on solar power for the board:\n{texts.SOLAR}"


async def test_generate_is_deterministic_for_the_same_request() -> None:
    request = GenerateRequest(prompt=REPORT_PROMPT, temperature=1.5)
    first, second = await provider.generate(request), await provider.generate(request)
    assert first == second


async def test_generate_heads_with_the_subject_and_digests_the_text_in_the_prompt() -> None:
    result = await provider.generate(GenerateRequest(prompt=REPORT_PROMPT))
    assert result.text.startswith("# Summarise this report on solar power for the board\n")
    assert HEADER in result.text
    summary = result.text.split("## Summary\n\n", 1)[1].split("\n", 1)[0]
    assert summary and all(sentence in texts.SOLAR for sentence in split_sentences(summary))
    assert "## Keywords" in result.text and "- solar" in result.text.lower()
    assert result.metadata["subject"] == "Summarise this report on solar power for the board"
    assert result.metadata["source_words"] == len(texts.SOLAR.split())


async def test_generate_says_in_metadata_it_is_not_a_language_model() -> None:
    result = await provider.generate(GenerateRequest(prompt="Write a haiku about autumn."))
    assert result.metadata["note"] == "builtin provider: offline text analysis, not a language model"
    assert (result.provider, result.model, result.finish_reason) == ("builtin", "builtin-offline", "stop")
    assert "no source text" in result.text


async def test_generate_counts_words_as_tokens_at_no_cost() -> None:
    result = await provider.generate(GenerateRequest(prompt="Write a haiku about autumn.", system="Be brief."))
    assert result.usage.input_tokens == 7
    assert result.usage.output_tokens == len(result.text.split())
    assert result.usage.cost_usd == 0.0


async def test_generate_stops_at_max_tokens_with_finish_reason_length() -> None:
    result = await provider.generate(GenerateRequest(prompt=REPORT_PROMPT, max_tokens=12))
    assert result.finish_reason == "length"
    assert result.usage.output_tokens == len(result.text.split()) == 12


async def test_generate_fills_placeholders_and_reports_the_unresolved_ones() -> None:
    request = GenerateRequest(prompt="Welcome {{ user.name }} to {{ team }}.", variables={"user": {"name": "Ada"}})
    result = await provider.generate(request)
    assert result.metadata["subject"] == "Welcome Ada to {{ team }}"
    assert result.metadata["unresolved_variables"] == ["team"]


async def test_generate_uses_user_messages_when_there_is_no_prompt() -> None:
    request = GenerateRequest(messages=[ChatMessage(role="system", content="Ignore me."),
                                        ChatMessage(role="user", content="Plan a garden party.")])
    result = await provider.generate(request)
    assert result.metadata["subject"] == "Plan a garden party"
    assert "Ignore me" not in result.text


async def test_stream_joined_equals_generate_text_in_word_sized_chunks() -> None:
    request = GenerateRequest(prompt=REPORT_PROMPT)
    chunks = [chunk async for chunk in provider.stream(request)]
    assert "".join(chunks) == (await provider.generate(request)).text
    assert len(chunks) > 50
    assert all(len(chunk.split()) <= 1 for chunk in chunks)
