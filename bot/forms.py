"""Moving through the ticket and lookup forms of bot.flow: which step to ask next, whether a
slot holds a valid value, and entering a step (saying what it asks).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bot import suggest
from bot.flow import CONTACT_SLOTS, FLOW, LOOKUP_FORM, TICKET_FORM, VALIDATORS
from bot.summary import summary
from bot.turn import Turn
from bot.validate import Valid, validate_subtopic, validate_topic

if TYPE_CHECKING:
    from bot.faq import FaqIndex


def advance(turn: Turn) -> None:
    """Ask the first ticket slot still missing; search the request once; then the summary."""
    for name in TICKET_FORM:
        if name == "suggest":
            if turn.slots.get("searched"):
                continue
            turn.slots["searched"] = True
            found = suggest.offer(turn, str(turn.slots.get("message", "")))
            if found:
                enter(turn, found)
                return
        elif not filled(turn.slots, turn.faq, name):
            enter(turn, name)
            return
    turn.slots["reviewing"] = True
    enter(turn, "summary")


def advance_lookup(turn: Turn) -> None:
    for name in LOOKUP_FORM:
        slot = FLOW[name].slot
        if slot is None or not filled(turn.slots, turn.faq, slot):
            enter(turn, name)
            return
    turn.step = "looking_up"
    turn.effect("lookup_ticket", {"email": turn.slots["email"], "number": turn.slots["number"]})


def filled(slots: Mapping[str, Any], faq: FaqIndex, name: str) -> bool:
    """Whether the slot `name` (or the slot of the step `name`) holds a valid value."""
    spec = FLOW.get(name)
    slot = spec.slot if spec is not None and spec.slot else name
    if slot == "attachment":
        return "attachment" in slots
    value = slots.get(slot)
    if not isinstance(value, str):
        return False
    if slot == "topic":
        return isinstance(validate_topic(value, faq), Valid)
    if slot == "subtopic":
        return isinstance(validate_subtopic(str(slots.get("topic", "")), value, faq), Valid)
    validator = VALIDATORS.get(slot)
    return validator is not None and isinstance(validator(value), Valid)


def enter(turn: Turn, name: str) -> None:
    """Move to step `name` and say what it asks."""
    turn.step = name
    if name == "summary":
        turn.replies.append(summary(turn))
    elif name in suggest.BAND_OF:
        suggest.show(turn)
    else:
        ask = FLOW[name].ask
        if ask:
            turn.say(ask, **_ask_params(turn))


def _ask_params(turn: Turn) -> dict[str, object]:
    topic = turn.faq.topic(str(turn.slots.get("topic", "")))
    return {
        "topic": topic.label_in(turn.lang) if topic else "",
        "email": turn.slots.get("email", ""),
        "references": turn.slots.get("references", ""),
    }


def edit(turn: Turn, field: str) -> None:
    """Ask `field` again; the form then comes back to the first slot still missing, or to the
    summary."""
    if turn.step in LOOKUP_FORM:
        turn.slots.pop("email", None)  # the lookup's only field to correct
        advance_lookup(turn)
        return
    if field == "subtopic" and not filled(turn.slots, turn.faq, "topic"):
        field = "topic"
    enter(turn, field)


def back(turn: Turn) -> None:
    """The ticket step before the current one, its value kept until a new one is given."""
    steps = [name for name in TICKET_FORM if name != "suggest"]
    place = steps.index(turn.step)
    if place == 0:
        turn.step = "welcome"
        turn.say("ask_welcome")
    else:
        enter(turn, steps[place - 1])


def keep_contacts(turn: Turn) -> None:
    """Forget the finished request, keep who the student is."""
    turn.slots = {k: v for k, v in turn.slots.items() if k in CONTACT_SLOTS}
