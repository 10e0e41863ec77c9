"""What the dialogue does with the results of its effects, which come back as events: a ticket
created or refused, a ticket found or not.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from bot import forms
from bot.flow import OPENED, SUMMARY_FIELDS
from bot.i18n import has, t
from bot.turn import Event, Reply, Turn
from bot.validate import Valid, validate_number

RESULT_EVENTS = frozenset({"ticket_created", "ticket_failed", "ticket_found", "lookup_failed"})


def _ticket_created(turn: Turn, event: Event) -> None:
    checked = validate_number(event.value)
    number = checked.value if isinstance(checked, Valid) else event.value.strip()
    turn.replies.append(Reply("ticket", t("ticket.created", turn.lang, number=number),
                              {"number": number}))
    turn.say("ticket.keep_number")
    turn.say("ticket.next", email=turn.slots.get("email", ""))
    forms.keep_contacts(turn)
    turn.slots[OPENED] = number
    turn.step = "done"


def _ticket_failed(turn: Turn, event: Event) -> None:
    reason = event.data.get("reason")
    fields = event.data.get("fields")
    bad = [n for n in SUMMARY_FIELDS if isinstance(fields, Mapping) and n in fields]
    if reason == "invalid" and isinstance(fields, Mapping) and bad:
        key = fields[bad[0]]
        turn.say(key if isinstance(key, str) and has(key) else "ticket_failed.invalid")
        for name in bad:
            turn.slots.pop(name, None)
            if name == "topic":
                turn.slots.pop("subtopic", None)
        forms.advance(turn)
        return
    turn.step = "summary"
    minutes = _minutes(event.data.get("retry_after"))
    if reason == "rate_limited" and minutes:
        turn.say("ticket_failed.rate_limited", minutes=minutes)
    elif reason == "rate_limited":
        turn.say("ticket_failed.rate_limited_later")
    else:
        turn.say("ticket_failed.error")


def _ticket_found(turn: Turn, event: Event) -> None:
    number = str(event.data.get("number") or turn.slots.get("number", ""))
    token = str(event.data.get("token", ""))
    turn.replies.append(Reply("ticket_view", t("lookup.found", turn.lang, number=number),
                              {"number": number, "token": token}))
    turn.slots.pop("number", None)
    turn.step = "done"


def _lookup_failed(turn: Turn, event: Event) -> None:
    turn.slots.pop("number", None)
    if event.data.get("reason") == "throttled":
        turn.say("lookup_failed.throttled", minutes=_minutes(event.data.get("retry_after")) or 1)
        turn.step = "done"
    else:
        # One message for a wrong email and a wrong number: the pair is a credential.
        turn.say("lookup_failed.not_found")
        turn.step = "lookup_number"


RESULTS: dict[tuple[str, str], Callable[[Turn, Event], None]] = {
    ("creating_ticket", "ticket_created"): _ticket_created,
    ("creating_ticket", "ticket_failed"): _ticket_failed,
    ("looking_up", "ticket_found"): _ticket_found,
    ("looking_up", "lookup_failed"): _lookup_failed,
}


def _minutes(seconds: object) -> int:
    if isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds > 0:
        return max(1, math.ceil(seconds / 60))
    return 0
