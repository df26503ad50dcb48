"""Splitting text into sentences, words and whitespace-preserving chunks."""

from __future__ import annotations

import re

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
# A Markdown heading, list item or quote starts a new segment even without a blank line before it.
_BLOCK_START = re.compile(r"^\s*(?:#{1,6}\s|[-*+>]\s|\d+[.)]\s)")
_HEADING = re.compile(r"^#{1,6}\s")
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”\u2019»)\]]*\s+")
_OPENING_MARKS = frozenset("\"'“\u2018«([¿¡")
_ABBREVIATIONS = frozenset({
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "inc", "ltd", "co",
    "no", "fig", "approx", "dept", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "oct", "nov",
    "dec", "z.b", "bzw", "usw", "ca", "nr", "mme", "mlle", "sra", "sig", "dhr",
})
_LETTERS = re.compile(r"[^\W\d_]+")
_WORD = re.compile(r"[^\W_]+(?:['\u2019-][^\W_]+)*")
_WHITESPACE_WORD = re.compile(r"\S+")
_CHUNK = re.compile(r"\s*\S+\s*|\s+")


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` in order, stripped; headings and list items count as sentences."""
    sentences: list[str] = []
    for paragraph in _PARAGRAPH_BREAK.split(text):
        for segment in _segments(paragraph):
            sentences.extend(_sentences_in(segment))
    return sentences


def _segments(paragraph: str) -> list[str]:
    """Join wrapped lines, but keep Markdown blocks apart; a heading is always one line."""
    segments: list[str] = []
    for line in paragraph.splitlines():
        if not line.strip():
            continue
        if segments and not _BLOCK_START.match(line) and not _HEADING.match(segments[-1]):
            segments[-1] = f"{segments[-1]} {line.strip()}"
        else:
            segments.append(line.strip())
    return segments


def _sentences_in(segment: str) -> list[str]:
    sentences: list[str] = []
    start = 0
    for end in _SENTENCE_END.finditer(segment):
        following = segment[end.end():end.end() + 1]
        if not (following.isupper() or following.isdigit() or following in _OPENING_MARKS):
            continue
        if segment[end.start()] == "." and _ends_with_abbreviation(segment[start:end.start()]):
            continue
        sentences.append(segment[start:end.end()].strip())
        start = end.end()
    tail = segment[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def _ends_with_abbreviation(before: str) -> bool:
    """``Dr.``, ``e.g.`` or an initial such as ``J.`` does not end a sentence."""
    last = before.rsplit(maxsplit=1)[-1] if before.strip() else ""
    last = last.lstrip("\"'“\u2018(").lower()
    return last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha())


def letter_words(text: str) -> list[str]:
    """Lower-cased runs of letters; apostrophes split words (``l'eau`` → ``l``, ``eau``)."""
    return [word.lower() for word in _LETTERS.findall(text)]


def words(text: str) -> list[str]:
    """Words as a reader counts them: letters or digits, joined by inner apostrophes or hyphens."""
    return _WORD.findall(text)


def count_tokens(text: str) -> int:
    """Approximate tokens as whitespace-separated words (the builtin provider's unit of usage)."""
    return sum(1 for _ in _WHITESPACE_WORD.finditer(text))


def truncate_to_tokens(text: str, limit: int) -> tuple[str, bool]:
    """``text`` cut after its ``limit``-th whitespace word, and whether anything was cut."""
    for index, match in enumerate(_WHITESPACE_WORD.finditer(text), start=1):
        if index == limit:
            cut = text[:match.end()]
            return cut, cut.rstrip() != text.rstrip()
    return text, False


def truncate_chars(text: str, limit: int) -> tuple[str, bool]:
    """``text`` cut to at most ``limit`` characters at a whitespace boundary, and whether it was cut."""
    if len(text) <= limit:
        return text, False
    cut = text[:limit]
    boundary = max(cut.rfind(" "), cut.rfind("\n"))
    return (cut[:boundary] if boundary > limit // 2 else cut), True


def word_chunks(text: str) -> list[str]:
    """``text`` in word-sized chunks that keep their whitespace: ``"".join(chunks) == text``."""
    return _CHUNK.findall(text)
