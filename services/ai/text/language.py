"""Guessing a text's language from the function words it uses."""

from __future__ import annotations

from collections import Counter

from services.ai.base import Language
from services.ai.text.stopwords import STOPWORDS
from services.ai.text.tokens import letter_words

UNDETERMINED = "und"
# Weighted stopword hits at which a guess counts as fully supported by evidence; fewer hits
# (a short text) scale the confidence down.
_FULL_EVIDENCE = 8.0


def _word_weights() -> dict[str, dict[str, float]]:
    """For each stopword, the languages using it, each weighted 1/(number of such languages).

    A word shared by several languages ("de", "in", "la") is weaker evidence for each of them.
    """
    languages_by_word: dict[str, list[str]] = {}
    for code, stopwords in STOPWORDS.items():
        for word in stopwords:
            languages_by_word.setdefault(word, []).append(code)
    return {word: {code: 1.0 / len(codes) for code in codes} for word, codes in languages_by_word.items()}


_WEIGHTS = _word_weights()


def detect_language(text: str) -> Language:
    """The most likely of en, de, fr, es, it, pt, nl, or ``und`` with confidence 0 when no signal.

    Confidence is the winner's share of all stopword evidence, scaled down for short texts.
    """
    scores: dict[str, float] = dict.fromkeys(STOPWORDS, 0.0)
    for word, count in Counter(letter_words(text)).items():
        for code, weight in _WEIGHTS.get(word, {}).items():
            scores[code] += weight * count
    total = sum(scores.values())
    if total == 0:
        return Language(code=UNDETERMINED, confidence=0.0)
    # Ties resolve by the order of STOPWORDS, so the guess is deterministic.
    best = max(STOPWORDS, key=lambda code: scores[code])
    share = scores[best] / total
    evidence = min(1.0, scores[best] / _FULL_EVIDENCE)
    return Language(code=best, confidence=round(share * evidence, 3))
