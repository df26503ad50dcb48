"""Snippets for a page of PostgreSQL results: the query's words (and their inflections) highlighted in context."""

from __future__ import annotations

from services.documents.snippets import query_stems, snippet


def test_inflected_words_are_highlighted_around_the_first_match() -> None:
    text = "Intro. " + "filler " * 60 + "Two invoices were overdue; invoicing resumes in May. " + "tail " * 60
    result = snippet(text, query_stems("invoice overdue"))
    assert "**invoices**" in result and "**overdue**" in result and "**invoicing**" in result
    assert result.startswith("…") and result.endswith("…") and "Intro" not in result


def test_exclusions_and_or_are_not_highlighted_and_no_match_gives_nothing() -> None:
    assert query_stems('budget or "cash flow" -draft') == ["budg", "cash", "flow"]
    assert snippet("nothing relevant here", query_stems("budget")) == ""
    assert snippet("anything", []) == ""
