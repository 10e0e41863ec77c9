"""What one turn of the dialogue takes and gives (State, Event -> Outcome) and the Turn that
builds it: the values shared by the step machine (bot.engine), the forms, the FAQ suggestions
and the summary. bot.engine re-exports the public ones, which is where the web layer reads them.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.i18n import LANGS, t

if TYPE_CHECKING:
    from bot.faq import FaqIndex


@dataclass(frozen=True)
class State:
    step: str
    slots: Mapping[str, Any] = field(default_factory=dict)  # JSON values only
    lang: str = "it"


@dataclass(frozen=True)
class Event:
    kind: str  # choose | text | attachment | restart | ticket_created | ticket_failed | ...
    value: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Option:
    id: str
    label: str


@dataclass(frozen=True)
class Prompt:
    options: tuple[Option, ...] = ()
    input: str | None = None  # text | email | tel | name | file | None
    placeholder: str = ""


@dataclass(frozen=True)
class Reply:
    kind: str  # text | faq | summary | ticket | ticket_view (docs/protocol.md Entry kinds)
    text: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Effect:
    kind: str  # create_ticket | lookup_ticket | faq_event
    data: Mapping[str, Any]


@dataclass(frozen=True)
class Outcome:
    state: State
    replies: tuple[Reply, ...]
    prompt: Prompt
    effects: tuple[Effect, ...]


class Turn:
    """What one call of `step` builds up: a private copy of the slots, replies, effects."""

    def __init__(self, state: State, faq: FaqIndex) -> None:
        self.step = state.step
        self.slots: dict[str, Any] = copy.deepcopy(dict(state.slots))
        self.lang = state.lang if state.lang in LANGS else "it"
        self.faq = faq
        self.replies: list[Reply] = []
        self.effects: list[Effect] = []

    def say(self, key: str, **params: object) -> None:
        self.replies.append(Reply("text", t(key, self.lang, **params)))

    def effect(self, kind: str, data: dict[str, Any]) -> None:
        self.effects.append(Effect(kind, data))

    def faq_event(self, kind: str, query: str, faq_ids: list[str], band: str) -> None:
        """band: how sure the assistant was of the FAQs shown ("confident", "middle"), "none"
        when it found nothing to show (bot.confidence)."""
        data = {"kind": kind, "query": query, "faq_ids": faq_ids, "lang": self.lang, "band": band}
        self.effect("faq_event", data)

    def state(self) -> State:
        return State(self.step, self.slots, self.lang)
