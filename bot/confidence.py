"""How sure the assistant may be that a FAQ answers a message: the best match's score turned
into a calibrated chance, and the three bands of `FaqIndex.decide` drawn on it.

The chance is a logistic curve fitted, with its two band thresholds, by
`python -m bench.calibrate` on shared/faq-eval's DEV set, cross-validated by FAQ
(bot/data/confidence.json).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

CONFIDENCE_FILE = Path(__file__).with_name("data") / "confidence.json"
# Once the best match is convincing, weaker neighbours down to this score are still worth
# offering: the near-duplicates students confuse (first vs second instalment) sit below it.
# Measured with make bench on the DEV set of shared/faq-eval and on the held-out queries of
# bench/.
NEIGHBOUR_THRESHOLD = 30.0

Band = Literal["confident", "middle", "none"]


@dataclass(frozen=True)
class Match:
    id: str
    score: float  # 0..100


@dataclass(frozen=True)
class Decision:
    """What the assistant can honestly say about a message (see FaqIndex.decide)."""

    band: Band
    matches: tuple[Match, ...]  # best first; empty in the band "none"
    confidence: float  # 0..1: the estimated chance that one of the matches answers it


@dataclass(frozen=True)
class Confidence:
    """The chance that the best matches answer a message, from the best match's score."""

    intercept: float
    per_score: float
    confident: float  # from here on, search() shows the matches
    middle: float  # from here on, decide() offers them hedged

    @classmethod
    def load(cls, path: Path = CONFIDENCE_FILE) -> Confidence:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            float(data["intercept"]),
            float(data["per_score"]),
            float(data["confident"]),
            float(data["middle"]),
        )

    def of(self, score: float) -> float:
        return 1 / (1 + math.exp(-(self.intercept + self.per_score * score)))

    def decide(self, ranked: Sequence[Match]) -> Decision:
        """The band of a message whose best matches, best first, are `ranked`."""
        if not ranked:
            return Decision("none", (), 0.0)
        confidence = self.of(ranked[0].score)
        if confidence >= self.confident:
            shown = tuple(m for m in ranked if m.score >= NEIGHBOUR_THRESHOLD)
            return Decision("confident", shown, confidence)
        if confidence >= self.middle:
            return Decision("middle", tuple(ranked), confidence)
        return Decision("none", (), confidence)


CONFIDENCE = Confidence.load()
