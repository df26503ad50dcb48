"""Sentiment with VADER, averaged over sentences as VADER's authors advise for longer texts."""

from __future__ import annotations

import threading
from statistics import fmean

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from services.ai.base import Sentiment, SentimentLabel

# VADER's own thresholds for calling a compound score positive or negative.
_POSITIVE_AT = 0.05
_NEGATIVE_AT = -0.05

_analyzer: SentimentIntensityAnalyzer | None = None
_analyzer_lock = threading.Lock()


def _shared_analyzer() -> SentimentIntensityAnalyzer:
    """The one analyzer, created on first use (it loads its lexicon from disk)."""
    global _analyzer
    with _analyzer_lock:
        if _analyzer is None:
            _analyzer = SentimentIntensityAnalyzer()
        return _analyzer


def score_sentiment(sentences: list[str]) -> Sentiment:
    """The mean VADER scores of ``sentences``, labelled positive, negative or neutral."""
    if not sentences:
        return Sentiment(label="neutral", score=0.0, compound=0.0, positive=0.0, neutral=1.0, negative=0.0)
    analyzer = _shared_analyzer()
    scores = [analyzer.polarity_scores(sentence) for sentence in sentences]
    compound = round(fmean(float(s["compound"]) for s in scores), 4)
    label: SentimentLabel = "neutral"
    if compound >= _POSITIVE_AT:
        label = "positive"
    elif compound <= _NEGATIVE_AT:
        label = "negative"
    return Sentiment(
        label=label,
        score=compound,
        compound=compound,
        positive=round(fmean(float(s["pos"]) for s in scores), 4),
        neutral=round(fmean(float(s["neu"]) for s in scores), 4),
        negative=round(fmean(float(s["neg"]) for s in scores), 4),
    )
