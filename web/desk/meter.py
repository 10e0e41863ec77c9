"""What the application layer reports for the operators' dashboards: web/ops/metrics.py counts
it for Prometheus. A no-op by default, so the desk runs (and is tested) without it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

# How the chat's FAQ search decided, as the dashboards name it: it suggested FAQs (answered),
# it was unsure and asked (middle: the band between the two, once the search has one), or it
# found nothing relevant enough and offered a ticket (abstained).
DECISIONS = ("answered", "middle", "abstained")
_BY_KIND = {"suggested": "answered", "middle": "middle", "no_match": "abstained"}


class Meter(Protocol):
    def faq_decision(self, decision: str) -> None: ...


class NoMeter:
    def faq_decision(self, decision: str) -> None:
        return None


def faq_decision(event: Mapping[str, Any]) -> str | None:
    """The decision a FAQ event of the chat records, or None for what is no decision (a
    student's "solved" / "not solved"). An event may name its band itself (`band`)."""
    band = event.get("band")
    if band in DECISIONS:
        return str(band)
    return _BY_KIND.get(str(event.get("kind")))
