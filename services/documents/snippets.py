"""Highlighted snippets built in Python for a page of search results.

PostgreSQL's ``ts_headline`` re-parses every document it highlights (tens of milliseconds for a
page of 20 on a busy machine, more than the ranked search itself). For a page of results a scan
for the query's words is enough: a word matches a document word that starts with its first
letters (so ``invoices`` and ``invoicing`` both light up for ``invoice``), as the stemmed index
matched it.
"""

from __future__ import annotations

import re

from services.ai.search import HIGHLIGHT

WINDOW = 220
_WORD = re.compile(r"\w+", re.UNICODE)


def _stem(word: str) -> str:
    word = word.lower()
    return word[:max(4, len(word) - 3)] if len(word) > 5 else word


def query_stems(query: str) -> list[str]:
    """The stems of the words a search looks for (exclusions and ``or`` left out)."""
    words = [w for w in re.findall(r'-?[\w"]+', query) if not w.startswith("-") and w.lower() != "or"]
    return list(dict.fromkeys(_stem(m) for w in words for m in _WORD.findall(w)))


def snippet(text: str, stems: list[str]) -> str:
    """About ``WINDOW`` characters of ``text`` around the first match, matched words wrapped in ``**``."""
    if not stems:
        return ""
    pattern = re.compile(r"\b(" + "|".join(re.escape(stem) for stem in stems) + r")\w*", re.IGNORECASE)
    first = pattern.search(text)
    if first is None:
        return ""
    start = max(0, first.start() - WINDOW // 3)
    end = min(len(text), start + WINDOW)
    if start > 0:
        start = text.find(" ", start, first.start()) + 1 or start
    piece = " ".join(text[start:end].split())
    highlighted = pattern.sub(lambda m: f"{HIGHLIGHT}{m.group(0)}{HIGHLIGHT}", piece)
    return ("…" if start > 0 else "") + highlighted + ("…" if end < len(text) else "")
