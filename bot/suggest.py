"""The FAQ suggestions of the question step: search the student's words, remember what was
shown (never the same FAQ twice in one request) and show it. Moving to the step is the
engine's: `offer` only says whether there is something to suggest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.turn import Reply, Turn

if TYPE_CHECKING:
    from bot.faq import Match

SUGGESTIONS = 3


def search(turn: Turn, query: str) -> list[Match]:
    """The best FAQs for `query` that the student has not been shown yet."""
    seen = set(turn.slots.get("suggested", []))
    matches = turn.faq.search(
        query,
        lang=turn.lang,
        topic=turn.slots.get("topic"),
        subtopic=turn.slots.get("subtopic"),
        limit=SUGGESTIONS + len(seen),
    )
    fresh = [m for m in matches if m.id not in seen and turn.faq.get(m.id) is not None]
    return fresh[:SUGGESTIONS]


def offer(turn: Turn, query: str) -> bool:
    """Search `query`; remember the matches to show, or say that none was found."""
    matches = search(turn, query)
    if not matches:
        turn.faq_event("no_match", query, [])
        turn.say("no_match")
        return False
    ids = [m.id for m in matches]
    turn.slots["query"] = query
    turn.slots["shown"] = ids
    turn.slots["suggested"] = [*turn.slots.get("suggested", []), *ids]
    turn.faq_event("suggested", query, ids)
    return True


def show(turn: Turn) -> None:
    """The FAQs remembered by `offer`, each with its answer and links, then the question."""
    faqs = [f for f in (turn.faq.get(i) for i in turn.slots.get("shown", [])) if f is not None]
    if faqs:
        turn.say("suggest.intro_one" if len(faqs) == 1 else "suggest.intro_many")
    lang = turn.lang
    for faq in faqs:
        data = {
            "id": faq.id,
            "question": faq.question_in(lang),
            "answer": faq.answer_in(lang),
            "links": [{"label": link.label_in(lang), "url": link.url} for link in faq.links],
        }
        turn.replies.append(Reply("faq", faq.question_in(lang), data))
    turn.say("ask_solved")
