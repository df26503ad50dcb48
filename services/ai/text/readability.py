"""Flesch reading ease and Flesch-Kincaid grade, with a vowel-group syllable heuristic.

Both formulas were calibrated on English; for other languages the figures are only comparative.
"""

from __future__ import annotations

import re

from services.ai.base import Readability
from services.ai.text.tokens import words

_VOWEL_GROUP = re.compile(r"[aeiouyàáâãäåæèéêëìíîïòóôõöøœùúûüý]+")
_SILENT_ENDING = re.compile(r"(?:[^aeiouy]e|[^aeiouytd]ed|[^aeiouyszxhcg]es)$")


def count_syllables(word: str) -> int:
    """Syllables in ``word`` by counting vowel groups, less a silent final ``-e``/``-ed``/``-es``."""
    total = 0
    for part in word.lower().replace("\u2019", "'").split("-"):
        part = part.split("'")[0]
        groups = len(_VOWEL_GROUP.findall(part))
        if groups > 1 and _SILENT_ENDING.search(part) and not part.endswith("le"):
            groups -= 1
        total += max(1, groups)
    return total


def measure_readability(text: str, *, sentence_count: int) -> Readability:
    """Word, sentence and syllable counts of ``text`` and the two Flesch scores built from them."""
    found = words(text)
    if not found:
        return Readability(flesch_reading_ease=0.0, flesch_kincaid_grade=0.0, words=0, sentences=sentence_count,
                           avg_sentence_length=0.0, avg_syllables_per_word=0.0)
    sentences = max(1, sentence_count)
    words_per_sentence = len(found) / sentences
    syllables_per_word = sum(count_syllables(word) for word in found) / len(found)
    return Readability(
        flesch_reading_ease=round(206.835 - 1.015 * words_per_sentence - 84.6 * syllables_per_word, 1),
        flesch_kincaid_grade=round(0.39 * words_per_sentence + 11.8 * syllables_per_word - 15.59, 1),
        words=len(found),
        sentences=sentences,
        avg_sentence_length=round(words_per_sentence, 2),
        avg_syllables_per_word=round(syllables_per_word, 3),
    )
