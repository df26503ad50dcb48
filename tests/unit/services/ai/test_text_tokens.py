"""Sentence, word and chunk splitting that the analyses and streaming rely on."""

from __future__ import annotations

import pytest

from services.ai.text.placeholders import fill_placeholders
from services.ai.text.readability import count_syllables
from services.ai.text.tokens import split_sentences, truncate_to_tokens, word_chunks


def test_sentences_do_not_end_at_abbreviations_or_initials() -> None:
    text = "Dr. Smith met J. R. Tolkien at 5 p.m. today. They talked, e.g. about maps! Did it rain? No."
    assert split_sentences(text) == ["Dr. Smith met J. R. Tolkien at 5 p.m. today.", "They talked, e.g. about maps!",
                                     "Did it rain?", "No."]


def test_markdown_headings_and_list_items_are_sentences_and_wrapped_lines_join() -> None:
    text = "# Plan\nWe start\non Monday.\n- buy seeds\n- plant them\n\nThen wait."
    assert split_sentences(text) == ["# Plan", "We start on Monday.", "- buy seeds", "- plant them", "Then wait."]


@pytest.mark.parametrize("text", ["", "one", "  leading and trailing  ", "a\n\n  b\tc\n", "# T\n\n> q"])
def test_word_chunks_join_back_to_the_exact_text(text: str) -> None:
    assert "".join(word_chunks(text)) == text


def test_truncate_to_tokens_cuts_after_the_limit_and_says_whether_it_cut() -> None:
    assert truncate_to_tokens("one two  three four", 2) == ("one two", True)
    assert truncate_to_tokens("one two\n", 2) == ("one two", False)
    assert truncate_to_tokens("one", 5) == ("one", False)


@pytest.mark.parametrize(("word", "syllables"), [("cat", 1), ("jumped", 1), ("wanted", 2), ("table", 2),
                                                ("make", 1), ("readability", 5), ("beautiful", 3), ("well-known", 2)])
def test_syllable_heuristic_counts_common_english_words(word: str, syllables: int) -> None:
    assert count_syllables(word) == syllables


def test_placeholders_fill_dotted_paths_and_indexes_and_keep_unknown_ones() -> None:
    filled, unresolved = fill_placeholders("{{ a.b }} {{items.1}} {{ data }} {{ nope.x }}",
                                           {"a": {"b": 3}, "items": ["x", "y"], "data": {"k": [1]}})
    assert filled == '3 y {"k": [1]} {{ nope.x }}'
    assert unresolved == ["nope.x"]
