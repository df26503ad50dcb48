"""Extractive summaries: the sentences that carry the text's most frequent content words."""

from __future__ import annotations

import math
from collections import Counter

from services.ai.text.stopwords import ALL_STOPWORDS, STOPWORDS
from services.ai.text.tokens import letter_words

_SHARE_OF_SENTENCES = 0.2
_MAX_SENTENCES = 5
_MIN_CONTENT_WORD_LENGTH = 3


def summary_length(sentence_count: int) -> int:
    """How many sentences a summary keeps: a fifth of them, at least 1 and at most 5."""
    return min(_MAX_SENTENCES, max(1, math.ceil(sentence_count * _SHARE_OF_SENTENCES)))


def summarize(sentences: list[str], *, language: str) -> list[str]:
    """The highest-scoring sentences of ``sentences``, unchanged and in their original order.

    A sentence scores the sum of its content words' frequencies (relative to the most frequent
    word) divided by the square root of its content-word count, so neither one-word sentences nor
    the longest ones win by length alone. Ties go to the earlier sentence.
    """
    if not sentences:
        return []
    stopwords = STOPWORDS.get(language, ALL_STOPWORDS)
    content = [_content_words(sentence, stopwords) for sentence in sentences]
    frequencies = Counter(word for words in content for word in words)
    if not frequencies:
        return sentences[:summary_length(len(sentences))]
    top_frequency = max(frequencies.values())
    scores = [
        sum(frequencies[word] for word in words) / top_frequency / math.sqrt(len(words)) if words else 0.0
        for words in content
    ]
    ranked = sorted(range(len(sentences)), key=lambda index: (-scores[index], index))
    chosen = sorted(ranked[:summary_length(len(sentences))])
    return [sentences[index] for index in chosen]


def _content_words(sentence: str, stopwords: frozenset[str]) -> list[str]:
    return [w for w in letter_words(sentence) if len(w) >= _MIN_CONTENT_WORD_LENGTH and w not in stopwords]
