"""The FAQ suggestions of the question step: search the student's words, remember what was
shown (never the same FAQ twice in one request) and show it. Moving to the step is the
engine's: `offer` only says which step shows what was found.

How sure the index is decides the step (FaqIndex.decide): FAQs that answer the message are
shown as answers, with "did it solve it?" (step `suggest`); FAQs that only may help are shown
hedged, "Forse una di queste risposte ti aiuta", with the ticket button beside them (step
`maybe`), so the student is neither told a guess as if it were the answer nor sent to the queue
with nothing to read. Every FAQ event names the band it was shown in, for the editors' report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.flow import FLOW
from bot.turn import Reply, Turn

if TYPE_CHECKING:
    from bot.confidence import Band, Match

SUGGESTIONS = 3
# The step that shows each band's suggestions, and back.
STEP_OF: dict[Band, str] = {"confident": "suggest", "middle": "maybe"}
BAND_OF: dict[str, Band] = {step: band for band, step in STEP_OF.items()}
INTRO = {"suggest": "suggest.intro", "maybe": "maybe.intro"}


def search(turn: Turn, query: str) -> tuple[Band, list[Match]]:
    """The band of `query` and its best FAQs that the student has not been shown yet."""
    seen = set(turn.slots.get("suggested", []))
    decision = turn.faq.decide(
        query,
        lang=turn.lang,
        topic=turn.slots.get("topic"),
        subtopic=turn.slots.get("subtopic"),
        limit=SUGGESTIONS + len(seen),
    )
    fresh = [m for m in decision.matches if m.id not in seen and turn.faq.get(m.id) is not None]
    return decision.band, fresh[:SUGGESTIONS]


def offer(turn: Turn, query: str) -> str | None:
    """Search `query`; remember the matches to show and return the step that shows them, or
    say that none was found."""
    band, matches = search(turn, query)
    if band == "none" or not matches:
        turn.faq_event("no_match", query, [], "none")
        turn.say("no_match")
        return None
    ids = [m.id for m in matches]
    turn.slots["query"] = query
    turn.slots["shown"] = ids
    turn.slots["suggested"] = [*turn.slots.get("suggested", []), *ids]
    turn.faq_event("suggested", query, ids, band)
    return STEP_OF[band]


def show(turn: Turn) -> None:
    """The FAQs remembered by `offer`, each with its answer and links, then what the step asks.
    The step says the band: the widget hedges the cards of the middle one."""
    faqs = [f for f in (turn.faq.get(i) for i in turn.slots.get("shown", [])) if f is not None]
    if faqs:
        turn.say(INTRO[turn.step] + ("_one" if len(faqs) == 1 else "_many"))
    lang = turn.lang
    for faq in faqs:
        data = {
            "id": faq.id,
            "question": faq.question_in(lang),
            "answer": faq.answer_in(lang),
            "links": [{"label": link.label_in(lang), "url": link.url} for link in faq.links],
            "band": BAND_OF[turn.step],
        }
        turn.replies.append(Reply("faq", faq.question_in(lang), data))
    ask = FLOW[turn.step].ask
    if ask:
        turn.say(ask)


def answered(turn: Turn, kind: str) -> list[str]:
    """Record the student's answer to the suggestions on screen ("solved" or "not_solved")
    and return their ids."""
    shown = list(turn.slots.get("shown", []))
    turn.faq_event(kind, str(turn.slots.get("query", "")), shown, BAND_OF[turn.step])
    return shown
