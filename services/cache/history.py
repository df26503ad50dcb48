"""The hit ratio over time: a bounded, in-process series of counter samples.

Why in process and not analytics events: the counters themselves are per process (each app or
worker process counts its own calls, see ``services.cache.stats``), so a per-process series is
the honest view of them, costs no database write, and the Services page reads it from the process
it talks to. The maintenance loop (every second, in every app and worker process) offers a sample;
one is kept at most every ``SAMPLE_SECONDS`` and the last ``HISTORY_SAMPLES`` are kept (an hour).
A restart starts a new series; counters that go backwards start a new interval, never a negative one.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel, Field

SAMPLE_SECONDS = 10.0
HISTORY_SAMPLES = 360


@dataclass(frozen=True, slots=True)
class CounterSample:
    at: datetime
    monotonic: float
    hits: int
    misses: int


class HitRatioPoint(BaseModel):
    """The hit ratio of the gets made since the previous sample, and since the process started."""

    at: datetime
    gets: int = Field(description="Gets (hits + misses) in the interval ending at ``at``.")
    hit_ratio: float | None = Field(description="hits / gets in the interval; null when no get was made.")
    cumulative_hit_ratio: float | None = Field(description="hits / gets since this process started counting.")


class HitRatioHistory:
    """The last ``limit`` samples of (hits, misses), taken at most every ``interval`` seconds."""

    def __init__(self, *, interval: float = SAMPLE_SECONDS, limit: int = HISTORY_SAMPLES) -> None:
        self.interval = interval
        self.samples: deque[CounterSample] = deque(maxlen=limit + 1)  # +1: the first point needs a predecessor
        self._trimmed = False  # whether the oldest samples were dropped (else the series starts at zero)

    def offer(self, hits: int, misses: int, *, force: bool = False) -> bool:
        """Keep a sample when ``interval`` has passed since the last one (or ``force``); whether it was kept."""
        now = time.monotonic()
        if not force and self.samples and now - self.samples[-1].monotonic < self.interval:
            return False
        self._trimmed = self._trimmed or len(self.samples) == self.samples.maxlen
        self.samples.append(CounterSample(datetime.now(UTC), now, hits, misses))
        return True

    def points(self) -> list[HitRatioPoint]:
        """One point per interval between consecutive samples, oldest first (the first counts from zero)."""
        points: list[HitRatioPoint] = []
        previous: CounterSample | None = None if self._trimmed else CounterSample(datetime.now(UTC), 0.0, 0, 0)
        for sample in self.samples:
            if previous is not None:
                hits, misses = sample.hits - previous.hits, sample.misses - previous.misses
                if hits < 0 or misses < 0:  # counters were reset: the interval starts from zero
                    hits, misses = sample.hits, sample.misses
                points.append(HitRatioPoint(at=sample.at, gets=hits + misses, hit_ratio=_ratio(hits, misses),
                                            cumulative_hit_ratio=_ratio(sample.hits, sample.misses)))
            previous = sample
        return points


def _ratio(hits: int, misses: int) -> float | None:
    return round(hits / (hits + misses), 4) if hits + misses else None
