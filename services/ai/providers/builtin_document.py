"""The builtin provider's answer to a prompt: a Markdown digest, written without a language model.

The prompt is split into an instruction (its subject) and source material (text to work on).
The document restates the request, then gives the material's extractive summary, key phrases and
a few measurements. It never invents prose: every sentence in it is either quoted from the prompt
or a fixed, labelled line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from services.ai.providers.builtin_analysis import MAX_ANALYSED_CHARS
from services.ai.text.keywords import extract_keywords
from services.ai.text.language import detect_language
from services.ai.text.readability import measure_readability
from services.ai.text.sentiment import score_sentiment
from services.ai.text.summary import summarize
from services.ai.text.tokens import count_tokens, split_sentences, truncate_chars

HEADER = "> Generated offline by the builtin provider (text analysis, not a language model)."
FOOTER = "_The builtin provider does not write new prose: it restates and digests the text it is given._"
NO_MATERIAL = "_The prompt contained no source text to digest, so this document only restates the request._"

# A first line this short followed by this much text reads as "instruction, then material".
_MAX_INSTRUCTION_WORDS = 60
_MIN_MATERIAL_WORDS = 40
_SUBJECT_MAX_CHARS = 100
_MARKDOWN_LEAD = re.compile(r"^[\s#>*+\-]+")
_HEADING_MARKS = re.compile(r"^#{1,6}\s+", re.MULTILINE)


@dataclass(frozen=True)
class OfflineDocument:
    """The document's Markdown text and what went into it."""

    text: str
    subject: str
    material_words: int
    sections: list[str] = field(default_factory=list)
    material_truncated: bool = False


def split_prompt(prompt: str) -> tuple[str, str]:
    """``(instruction, material)``: what is asked, and the text it is asked about (possibly empty).

    A first line ending in ``:``, or a short first line before a long body, is the instruction
    and the rest the material. A long prompt with no such line is all material, its first
    sentence standing as the instruction. A short prompt is all instruction.
    """
    stripped = prompt.strip()
    head, _, body = stripped.partition("\n")
    head, body = head.strip(), body.strip()
    if body and (head.endswith(":") or (
            count_tokens(head) <= _MAX_INSTRUCTION_WORDS and count_tokens(body) >= _MIN_MATERIAL_WORDS)):
        return head, body
    if count_tokens(stripped) > _MAX_INSTRUCTION_WORDS:
        return split_sentences(stripped)[0], stripped
    return stripped, ""


def subject_of(instruction: str) -> str:
    """A one-line title: the instruction's first sentence without Markdown marks, at most 100 characters."""
    sentences = split_sentences(instruction)
    subject = _MARKDOWN_LEAD.sub("", sentences[0] if sentences else "").rstrip(" .:")
    if len(subject) > _SUBJECT_MAX_CHARS:
        subject = subject[:_SUBJECT_MAX_CHARS].rsplit(" ", 1)[0] + "…"
    return subject or "Untitled request"


def write_offline_document(prompt: str) -> OfflineDocument:
    """The Markdown digest of ``prompt``; deterministic. Synchronous and CPU-bound."""
    instruction, material = split_prompt(prompt)
    material, truncated = truncate_chars(material, MAX_ANALYSED_CHARS)
    subject = subject_of(instruction)
    # The request is restated as text: a heading in it would break the document's outline.
    request = _HEADING_MARKS.sub("", instruction) or "(empty prompt)"
    lines = [f"# {subject}", "", HEADER, "", "## Request", "", request, ""]
    if material:
        lines += _digest_of_material(material, truncated=truncated)
    else:
        lines += [*_keyword_section(instruction, language=detect_language(instruction).code), NO_MATERIAL, ""]
    lines.append(FOOTER)
    return OfflineDocument(
        text="\n".join(lines),
        subject=subject,
        material_words=count_tokens(material),
        sections=[line.removeprefix("## ") for line in lines if line.startswith("## ")],
        material_truncated=truncated,
    )


def _digest_of_material(material: str, *, truncated: bool) -> list[str]:
    sentences = split_sentences(material)
    language = detect_language(material)
    readability = measure_readability(material, sentence_count=len(sentences))
    sentiment = score_sentiment(sentences)
    lines = [
        "## Summary", "", " ".join(summarize(sentences, language=language.code)), "",
        *_keyword_section(material, language=language.code),
        "## About the source text", "",
        f"- Words: {readability.words}; sentences: {readability.sentences}",
        f"- Language: {language.code} (confidence {language.confidence:.2f})",
        f"- Tone: {sentiment.label} (score {sentiment.score:+.2f})",
        f"- Flesch reading ease: {readability.flesch_reading_ease:.1f} (grade {readability.flesch_kincaid_grade:.1f})",
        "",
    ]
    if truncated:
        lines += [f"_Only the first {len(material):,} characters of the source text were digested._", ""]
    return lines


def _keyword_section(text: str, *, language: str) -> list[str]:
    keywords = extract_keywords(text, language=language) if text.strip() else []
    if not keywords:
        return []
    return ["## Keywords", "", *(f"- {keyword.text}" for keyword in keywords), ""]
