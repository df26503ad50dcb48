"""Key phrases with YAKE, an unsupervised, corpus-free keyword extractor."""

from __future__ import annotations

from services.ai.base import Keyword
from services.ai.text.stopwords import STOPWORDS

_DEFAULT_LANGUAGE = "en"
# Two-word phrases keep the list on topic; three-word ones drift into fragments of sentences.
_MAX_PHRASE_WORDS = 2


def extract_keywords(text: str, *, language: str, top: int = 10) -> list[Keyword]:
    """Up to ``top`` key phrases of ``text``, most relevant first, with relevance in (0, 1].

    ``language`` picks YAKE's stopword list; unknown codes fall back to English. YAKE scores
    lower-is-better from 0 upwards; ``1 / (1 + score)`` turns that into higher-is-better.
    Phrases differing only in case are reported once, as first ranked.
    """
    import yake  # imported on first use: it pulls in networkx, half a second of start-up

    lan = language if language in STOPWORDS else _DEFAULT_LANGUAGE
    # A fresh extractor per call: cheap to build, and no state is shared between threads.
    extractor = yake.KeywordExtractor(lan=lan, n=_MAX_PHRASE_WORDS, top=top)
    keywords: dict[str, Keyword] = {}
    for phrase, score in extractor.extract_keywords(text):
        keywords.setdefault(str(phrase).lower(), Keyword(text=str(phrase), score=round(1.0 / (1.0 + float(score)), 4)))
    return list(keywords.values())
