"""The builtin provider's offline text analysis: each kind gives plausible, honest results."""

from __future__ import annotations

import pytest

from services.ai.providers.builtin import BuiltinProvider
from services.ai.providers.builtin_analysis import MAX_ANALYSED_CHARS, NOTE
from services.ai.text.tokens import split_sentences
from tests.unit.services.ai import texts

provider = BuiltinProvider()


async def test_sentiment_of_positive_text_is_labelled_positive_with_positive_score() -> None:
    result = await provider.analyze(texts.POSITIVE, ["sentiment"])
    assert result.sentiment is not None
    assert result.sentiment.label == "positive"
    assert result.sentiment.score > 0.3
    assert result.sentiment.positive is not None and result.sentiment.negative is not None
    assert result.sentiment.positive > result.sentiment.negative


async def test_sentiment_of_negative_text_is_labelled_negative_with_negative_score() -> None:
    result = await provider.analyze(texts.NEGATIVE, ["sentiment"])
    assert result.sentiment is not None
    assert result.sentiment.label == "negative"
    assert result.sentiment.score < -0.3


async def test_keywords_of_a_paragraph_about_solar_energy_include_solar_ranked_by_relevance() -> None:
    result = await provider.analyze(texts.SOLAR, ["keywords"])
    assert result.keywords
    assert len(result.keywords) <= 10
    assert any("solar" in keyword.text.lower() for keyword in result.keywords[:3])
    scores = [keyword.score for keyword in result.keywords]
    assert scores == sorted(scores, reverse=True), "most relevant first, higher score is better"
    assert all(0 < score <= 1 for score in scores)


async def test_summary_is_shorter_and_made_of_source_sentences_in_source_order() -> None:
    result = await provider.analyze(texts.SOLAR, ["summary"])
    assert result.summary
    assert len(result.summary) < len(texts.SOLAR)
    chosen = split_sentences(result.summary)
    assert 1 <= len(chosen) <= 5
    assert all(sentence in texts.SOLAR for sentence in chosen)
    assert chosen == sorted(chosen, key=texts.SOLAR.index)


async def test_readability_scores_simple_text_easy_and_complex_text_hard() -> None:
    simple = (await provider.analyze(texts.SIMPLE, ["readability"])).readability
    hard = (await provider.analyze(texts.COMPLEX, ["readability"])).readability
    assert simple is not None and hard is not None
    assert simple.flesch_reading_ease > 80 and simple.flesch_kincaid_grade < 4
    assert hard.flesch_reading_ease < 20 and hard.flesch_kincaid_grade > 16
    assert (simple.words, simple.sentences, simple.avg_sentence_length) == (20, 4, 5.0)


@pytest.mark.parametrize(("text", "code"), [(texts.ENGLISH, "en"), (texts.GERMAN, "de"), (texts.FRENCH, "fr")])
async def test_language_guess_names_the_paragraphs_language_confidently(text: str, code: str) -> None:
    result = await provider.analyze(text, ["language"])
    assert result.language is not None
    assert result.language.code == code
    assert result.language.confidence > 0.5


async def test_language_without_any_known_function_words_is_undetermined() -> None:
    result = await provider.analyze("Xyzzy plugh 12345", ["language"])
    assert result.language is not None
    assert (result.language.code, result.language.confidence) == ("und", 0.0)


async def test_entities_are_capitalised_phrases_labelled_as_heuristic_proper_nouns() -> None:
    text = "Ada Lovelace met Charles Babbage in London. The Bank of England was closed. Yesterday it rained."
    result = await provider.analyze(text, ["entities"])
    assert result.entities is not None
    assert [entity.text for entity in result.entities] == ["Ada Lovelace", "Charles Babbage", "London",
                                                          "Bank of England"]
    assert {entity.label for entity in result.entities} == {"PROPER_NOUN"}
    assert "heuristic" in result.metadata["methods"]["entities"]


async def test_only_requested_kinds_are_filled_and_metadata_says_it_is_not_a_language_model() -> None:
    result = await provider.analyze(texts.SOLAR, ["language", "summary"])
    assert result.language is not None and result.summary is not None
    assert (result.sentiment, result.keywords, result.readability, result.entities) == (None, None, None, None)
    assert result.metadata["note"] == NOTE == "builtin provider: offline text analysis, not a language model"
    assert result.usage.cost_usd == 0.0 and result.usage.input_tokens == len(texts.SOLAR.split())


async def test_overlong_text_is_cut_and_metadata_says_so() -> None:
    text = (texts.SOLAR + " ") * (MAX_ANALYSED_CHARS // len(texts.SOLAR) + 2)
    result = await provider.analyze(text, ["readability"])
    assert result.metadata["truncated"] is True
    assert result.metadata["analysed_chars"] <= MAX_ANALYSED_CHARS < result.metadata["original_chars"]
    assert result.usage.input_tokens < len(text.split())
