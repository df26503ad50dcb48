"""The builtin provider's text analysis: the requested kinds, computed offline in one pass."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.ai.base import AnalysisKind, AnalyzeResult, Language, Usage
from services.ai.text.entities import find_entities
from services.ai.text.keywords import extract_keywords
from services.ai.text.language import UNDETERMINED, detect_language
from services.ai.text.readability import measure_readability
from services.ai.text.sentiment import score_sentiment
from services.ai.text.summary import summarize
from services.ai.text.tokens import count_tokens, split_sentences, truncate_chars

NOTE = "builtin provider: offline text analysis, not a language model"
# Longer texts are cut here: beyond it the analyses hardly change, but their cost keeps growing.
MAX_ANALYSED_CHARS = 200_000

METHODS: dict[AnalysisKind, str] = {
    "sentiment": "VADER lexicon scores averaged over sentences",
    "keywords": "YAKE unsupervised keyword extraction; score = 1 / (1 + YAKE score), higher is better",
    "summary": "extractive: the original sentences richest in the text's frequent content words",
    "readability": "Flesch reading ease and Flesch-Kincaid grade with a syllable heuristic (calibrated for English)",
    "language": "stopword-profile scoring over en, de, fr, es, it, pt, nl",
    "entities": "heuristic: capitalised phrases labelled PROPER_NOUN, not named-entity recognition",
}

_NEEDS_LANGUAGE = frozenset({"language", "keywords", "summary"})


def analyze_text(text: str, kinds: Sequence[AnalysisKind], *, provider: str, model: str) -> AnalyzeResult:
    """The analyses named in ``kinds`` of (at most the first 200,000 characters of) ``text``.

    Synchronous and CPU-bound: callers on the event loop run it in a worker thread.
    """
    analysed, truncated = truncate_chars(text, MAX_ANALYSED_CHARS)
    wanted = frozenset(kinds)
    sentences = split_sentences(analysed)
    language: Language | None = detect_language(analysed) if wanted & _NEEDS_LANGUAGE else None
    code = language.code if language else UNDETERMINED
    metadata: dict[str, Any] = {"note": NOTE, "methods": {kind: METHODS[kind] for kind in kinds}}
    if truncated:
        metadata.update(truncated=True, analysed_chars=len(analysed), original_chars=len(text),
                        truncation=f"Only the first {len(analysed):,} of {len(text):,} characters were analysed.")
    return AnalyzeResult(
        provider=provider,
        model=model,
        sentiment=score_sentiment(sentences) if "sentiment" in wanted else None,
        keywords=extract_keywords(analysed, language=code) if "keywords" in wanted else None,
        summary=" ".join(summarize(sentences, language=code)) if "summary" in wanted else None,
        readability=measure_readability(analysed, sentence_count=len(sentences)) if "readability" in wanted else None,
        language=language if "language" in wanted else None,
        entities=find_entities(sentences) if "entities" in wanted else None,
        usage=Usage(input_tokens=count_tokens(analysed), output_tokens=0, cost_usd=0.0),
        metadata=metadata,
    )
