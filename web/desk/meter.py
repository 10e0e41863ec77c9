"""What the application layer reports for the operators' dashboards: web/ops/metrics.py counts
it for Prometheus. A no-op by default, so the desk runs (and is tested) without it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

# How the chat's FAQ search decided, as the dashboards name it: it suggested FAQs it was sure
# of (answered), FAQs it was unsure of (middle: bot.confidence's middle band), or nothing
# relevant enough, and offered a ticket (abstained).
DECISIONS = ("answered", "middle", "abstained")
_BY_BAND = {"confident": "answered", "middle": "middle", "none": "abstained"}
_BY_KIND = {"suggested": "answered", "no_match": "abstained"}


class Meter(Protocol):
    def faq_decision(self, decision: str) -> None: ...


class NoMeter:
    def faq_decision(self, decision: str) -> None:
        return None


def faq_decision(event: Mapping[str, Any]) -> str | None:
    """The decision a FAQ event of the chat records (a search: `suggested` or `no_match`, with
    its `band`), or None for what is no decision (a student's "solved" / "not solved")."""
    kind = str(event.get("kind"))
    if kind not in _BY_KIND:
        return None
    return _BY_BAND.get(str(event.get("band")), _BY_KIND[kind])
