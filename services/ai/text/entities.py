"""Proper nouns by a capitalisation heuristic; not named-entity recognition.

A run of capitalised words ("Ada Lovelace", "United Nations") is one entity, and short lowercase
connectors inside a run ("Bank of England", "Ludwig van Beethoven") stay in it. A lone capitalised
word at the start of a sentence counts only if it is also capitalised mid-sentence somewhere, since
every sentence starts with a capital. Leading function words ("The", "In") are dropped, but another
capitalised first word stays attached to a name that follows it ("Yesterday Ada Lovelace").
"""

from __future__ import annotations

import re

from services.ai.base import Entity
from services.ai.text.stopwords import ALL_STOPWORDS

LABEL = "PROPER_NOUN"
_MAX_ENTITIES = 50
# Lowercase words that join the parts of one name; "and" is left out, as it usually joins two names.
_CONNECTORS = frozenset({"of", "de", "del", "della", "di", "da", "du", "des", "la", "le", "van", "von", "der", "den"})
_TOKEN = re.compile(r"\S+")
_EDGE_PUNCTUATION = "\"'“”\u2018\u2019«»()[]{}<>*_#`"
_TRAILING_PUNCTUATION = ".,;:!?…"
_POSSESSIVE = re.compile(r"['\u2019]s$")


def find_entities(sentences: list[str]) -> list[Entity]:
    """Capitalised phrases in ``sentences``, each once, in order of first appearance (at most 50)."""
    runs = [run for sentence in sentences for run in _capitalised_runs(sentence)]
    mid_sentence = {word for start, phrase in runs if start > 0 for word in phrase}
    found: dict[str, Entity] = {}
    for start, phrase in runs:
        words = _without_leading_function_words(phrase)
        if not words or (start == 0 and len(words) == len(phrase) == 1 and words[0] not in mid_sentence):
            continue
        text = " ".join(words)
        if len(text) > 1 and text not in found:
            found[text] = Entity(text=text, label=LABEL)
        if len(found) == _MAX_ENTITIES:
            break
    return list(found.values())


def _capitalised_runs(sentence: str) -> list[tuple[int, list[str]]]:
    """Each run of capitalised words as (position of its first word in the sentence, its words)."""
    runs: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start = 0
    for position, match in enumerate(_TOKEN.finditer(sentence)):
        raw = match.group().strip(_EDGE_PUNCTUATION)
        word = _POSSESSIVE.sub("", raw.rstrip(_TRAILING_PUNCTUATION))
        capitalised = bool(word) and word[0].isupper()
        if capitalised or (current and word in _CONNECTORS):
            if not current:
                start = position
            current.append(word)
        else:
            _close(current, start, runs)
            current = []
        if word != raw:  # trailing punctuation or a possessive ends the phrase
            _close(current, start, runs)
            current = []
    _close(current, start, runs)
    return runs


def _close(current: list[str], start: int, runs: list[tuple[int, list[str]]]) -> None:
    while current and current[-1] in _CONNECTORS:
        current.pop()
    if current:
        runs.append((start, list(current)))


def _without_leading_function_words(phrase: list[str]) -> list[str]:
    index = 0
    while index < len(phrase) and phrase[index].lower() in ALL_STOPWORDS:
        index += 1
    return phrase[index:]
