"""The dialogue: `step(state, event, faq)` runs the table of bot.flow and is the only flow logic.

It is pure: it reads the state, the event and the FAQ index and returns the next state, what
to say and what the web layer should do (effects). It never raises on what a student sends: a
wrong button, text where a button was expected or a bad value gets a reply in the
conversation's language and keeps the step. Results of effects come back as events.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.flow import (
    CONTACT_SLOTS,
    EXACT,
    FLOW,
    LOOKUP_FORM,
    PREFILL_SLOTS,
    SUMMARY_FIELDS,
    TICKET_FORM,
    TICKET_NUMBER,
    VALIDATORS,
    Step,
    fold,
    intent,
)
from bot.i18n import LANGS, has, normalise_lang, t
from bot.validate import (
    MAX_ATTACHMENT_BYTES,
    MESSAGE_MAX,
    Valid,
    validate_message,
    validate_number,
    validate_subtopic,
    validate_topic,
)

if TYPE_CHECKING:
    from bot.faq import FaqIndex, Match

SUGGESTIONS = 3
RESULT_EVENTS = frozenset({"ticket_created", "ticket_failed", "ticket_found", "lookup_failed"})


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


def start(lang: str, faq: FaqIndex, slots: Mapping[str, Any] | None = None) -> Outcome:
    """The welcome. `slots` may prefill email, name, phone and references (the number of a
    closed ticket): a follow-up then goes straight to the new ticket, skipping valid data."""
    turn = _Turn(State("welcome", {}, normalise_lang(lang)), faq)
    for name in PREFILL_SLOTS:
        value = (slots or {}).get(name)
        if isinstance(value, str):
            # an invalid prefilled value is simply asked again
            result = VALIDATORS["number" if name == "references" else name](value)
            if isinstance(result, Valid):
                turn.slots[name] = result.value
    if "references" in turn.slots:
        turn.say("follow_up.intro", references=turn.slots["references"])
        _advance(turn)
    else:
        turn.say("welcome")
        turn.say("ask_welcome")
    return turn.outcome()


def step(state: State, event: Event, faq: FaqIndex) -> Outcome:
    """The next state, replies, prompt and effects after `event`."""
    turn = _Turn(state, faq)
    spec = FLOW.get(turn.step)
    if spec is None or event.kind == "restart" or (
        event.kind == "text" and fold(event.value) in EXACT["restart"]
    ):
        _restart(turn)
    elif event.kind in RESULT_EVENTS:
        # A result at a step that is not waiting for it is late or repeated: nothing to do.
        handler = _RESULTS.get((turn.step, event.kind))
        if handler is not None:
            handler(turn, event)
    elif spec.waiting:
        turn.say("wait")
    elif event.kind == "choose":
        _choose(turn, spec, event.value)
    elif event.kind == "text":
        _text(turn, spec, event.value)
    elif event.kind == "attachment":
        _attachment(turn, event.data)
    else:
        turn.say("wrong_event.unknown")
    return turn.outcome()


def prompt_for(state: State, faq: FaqIndex) -> Prompt:
    """The buttons and input box of the state's step (also to resume a conversation)."""
    spec = FLOW.get(state.step)
    if spec is None:
        return Prompt()
    lang = state.lang if state.lang in LANGS else "it"
    slots = state.slots
    options: list[Option] = []
    if spec.choices == "topics":
        options += [Option(topic.id, topic.label_in(lang)) for topic in faq.topics]
    elif spec.choices == "subtopics":
        topic = faq.topic(str(slots.get("topic", "")))
        if topic is not None:
            options += [Option(s.id, s.label_in(lang)) for s in topic.subtopics]
    elif spec.choices == "fields":
        options += [Option(f"edit:{name}", t(f"field.{name}", lang)) for name in SUMMARY_FIELDS]
    options += [Option(o, t(f"option.{o}", lang)) for o in spec.options]
    if spec.form == "ticket" and slots.get("reviewing") and _filled(slots, faq, state.step):
        options.append(Option("keep", t("option.keep", lang)))
    if state.step == "welcome":
        other = "en" if lang == "it" else "it"
        options.append(Option(f"lang:{other}", t(f"option.lang.{other}", lang)))
    placeholder = t(spec.placeholder, lang) if spec.placeholder else ""
    return Prompt(tuple(options), spec.input, placeholder)


class _Turn:
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

    def faq_event(self, kind: str, query: str, faq_ids: list[str]) -> None:
        data = {"kind": kind, "query": query, "faq_ids": faq_ids, "lang": self.lang}
        self.effect("faq_event", data)

    def state(self) -> State:
        return State(self.step, self.slots, self.lang)

    def outcome(self) -> Outcome:
        state = self.state()
        return Outcome(state, tuple(self.replies), prompt_for(state, self.faq), tuple(self.effects))


# --- what the student does ------------------------------------------------------------------


def _choose(turn: _Turn, spec: Step, option: str) -> None:
    # The language can be switched anywhere (the widget may have its own toggle).
    if option.startswith("lang:") and option[5:] in LANGS:
        _switch_lang(turn, option[5:])
        return
    if option not in {o.id for o in prompt_for(turn.state(), turn.faq).options}:
        turn.say("wrong_choice.unknown")
        return
    if option in spec.on:
        ACTIONS[spec.on[option]](turn)
    elif option == "keep":
        _advance(turn)
    elif spec.choices == "topics":
        turn.slots["topic"] = option
        turn.slots.pop("subtopic", None)
        _advance(turn)
    elif spec.choices == "subtopics":
        turn.slots["subtopic"] = option
        _advance(turn)
    elif spec.choices == "fields":
        _enter(turn, option.removeprefix("edit:"))


def _text(turn: _Turn, spec: Step, raw: str) -> None:
    text = raw.strip()
    if not text:
        turn.say("wrong_text.empty")
        return
    if len(text) > MESSAGE_MAX:
        turn.say("wrong_text.too_long")
        return
    # A typed button label ("Sì, ho risolto", "Immatricolazioni", "English") is that button.
    folded = fold(text)
    for option in prompt_for(turn.state(), turn.faq).options:
        if folded in (fold(option.label), option.id):
            _choose(turn, spec, option.id)
            return
    command = intent(text)
    if command in ("yes", "thanks") and spec.yes:
        ACTIONS[spec.yes](turn)
    elif command == "no" and spec.no:
        ACTIONS[spec.no](turn)
    elif spec.text == "value" and spec.slot:
        _fill(turn, spec, spec.slot, text)
    elif spec.text == "question":
        _question(turn, text, command)
    elif spec.text == "attachment":
        turn.say("wrong_attachment.text")
    else:
        turn.say("wrong_text.use_buttons")


def _attachment(turn: _Turn, data: Mapping[str, Any]) -> None:
    if turn.step in LOOKUP_FORM:
        turn.say("wrong_attachment.not_now")
        return
    attachment_id, size = data.get("id"), data.get("size")
    if not isinstance(attachment_id, str) or not attachment_id or not isinstance(size, int):
        turn.say("wrong_attachment.invalid")
        return
    if size > MAX_ATTACHMENT_BYTES:
        turn.say("wrong_attachment.too_large")
        return
    filename = str(data.get("filename") or attachment_id)
    turn.slots["attachment"] = {"id": attachment_id, "filename": filename, "size": size}
    turn.say("attachment.received", filename=filename)
    # Any time before the summary, a file joins the request; the attachment step then skips.
    if turn.step == "attachment":
        _advance(turn)
    elif turn.step in ("summary", "correct"):
        _enter(turn, "summary")


def _fill(turn: _Turn, spec: Step, slot: str, text: str) -> None:
    result = VALIDATORS[slot](text)
    if not isinstance(result, Valid):
        turn.say(result.key)
        return
    turn.slots[slot] = result.value
    if spec.form == "lookup":
        _advance_lookup(turn)
    else:
        _advance(turn)


def _question(turn: _Turn, text: str, command: str | None) -> None:
    """Free text where a question makes sense: a command, or a question for the FAQ."""
    if command == "operator":
        if turn.step == "suggest":
            _not_solved(turn)
        else:
            turn.say("operator.offer")
            _advance(turn)
    elif command == "have_ticket":
        _have_ticket(turn)
    elif turn.step in ("welcome", "done") and TICKET_NUMBER.fullmatch(text):
        number = validate_number(text)
        _have_ticket(turn, number.value if isinstance(number, Valid) else None)
    elif command == "greeting":
        turn.say("greeting")
    elif command in ("yes", "no"):
        # "ok", "no" with nothing to confirm: not a question worth a "no FAQ found"
        turn.say("nudge")
    elif command == "thanks":
        turn.say("thanks")
    else:
        _search_question(turn, text)


def _search_question(turn: _Turn, text: str) -> None:
    # A question long enough to be the ticket's request becomes it, so it is never retyped.
    is_message = False
    message = validate_message(text)
    if isinstance(message, Valid) and not _filled(turn.slots, turn.faq, "message"):
        turn.slots["message"] = message.value
        is_message = True
    matches = _search(turn, text)
    if is_message:
        turn.slots["searched"] = True
    if matches:
        _suggest(turn, text, matches)
        return
    turn.faq_event("no_match", text, [])
    turn.say("no_match")
    _advance(turn)


# --- actions named in the table ---------------------------------------------------------------


def _new_ticket(turn: _Turn) -> None:
    turn.say("new_ticket.intro")
    _advance(turn)


def _have_ticket(turn: _Turn, number: str | None = None) -> None:
    _keep_contacts(turn)
    if number:
        turn.slots["number"] = number
    _advance_lookup(turn)


def _solved(turn: _Turn) -> None:
    turn.faq_event("solved", str(turn.slots.get("query", "")), list(turn.slots.get("shown", [])))
    turn.say("solved")
    _keep_contacts(turn)
    turn.step = "done"


def _not_solved(turn: _Turn) -> None:
    shown = list(turn.slots.pop("shown", []))
    turn.faq_event("not_solved", str(turn.slots.get("query", "")), shown)
    turn.say("not_solved")
    _advance(turn)


def _skip_attachment(turn: _Turn) -> None:
    turn.slots["attachment"] = None
    _advance(turn)


def _back_to_topic(turn: _Turn) -> None:
    turn.slots.pop("subtopic", None)
    if not turn.slots.get("reviewing"):
        turn.slots.pop("topic", None)
    _enter(turn, "topic")


def _change_email(turn: _Turn) -> None:
    turn.slots.pop("email", None)
    _advance_lookup(turn)


def _confirm(turn: _Turn) -> None:
    slots = turn.slots
    if not all(_filled(slots, turn.faq, name) for name in SUMMARY_FIELDS):
        # The FAQ topics changed under the conversation, or a slot was lost: ask again.
        turn.say("ticket_failed.invalid")
        _advance(turn)
        return
    attachment = slots.get("attachment")
    turn.step = "creating_ticket"
    data = {name: slots[name] for name in ("email", "name", "phone", "topic", "subtopic")}
    turn.effect(
        "create_ticket",
        {
            **data,
            "message": slots["message"],
            "lang": turn.lang,
            "attachment_id": attachment["id"] if isinstance(attachment, dict) else None,
            "references": slots.get("references"),
            "suggested_faqs": list(slots.get("suggested", [])),
        },
    )


ACTIONS: dict[str, Callable[[_Turn], None]] = {
    "new_ticket": _new_ticket,
    "have_ticket": _have_ticket,
    "solved": _solved,
    "not_solved": _not_solved,
    "skip_attachment": _skip_attachment,
    "back_to_topic": _back_to_topic,
    "change_email": _change_email,
    "confirm": _confirm,
    "correct": lambda turn: _enter(turn, "correct"),
    "summary": lambda turn: _enter(turn, "summary"),
}


# --- results of effects ---------------------------------------------------------------------


def _ticket_created(turn: _Turn, event: Event) -> None:
    checked = validate_number(event.value)
    number = checked.value if isinstance(checked, Valid) else event.value.strip()
    turn.replies.append(Reply("ticket", t("ticket.created", turn.lang, number=number),
                              {"number": number}))
    turn.say("ticket.keep_number")
    turn.say("ticket.next", email=turn.slots.get("email", ""))
    _keep_contacts(turn)
    turn.step = "done"


def _ticket_failed(turn: _Turn, event: Event) -> None:
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
        _advance(turn)
        return
    turn.step = "summary"
    minutes = _minutes(event.data.get("retry_after"))
    if reason == "rate_limited" and minutes:
        turn.say("ticket_failed.rate_limited", minutes=minutes)
    elif reason == "rate_limited":
        turn.say("ticket_failed.rate_limited_later")
    else:
        turn.say("ticket_failed.error")


def _ticket_found(turn: _Turn, event: Event) -> None:
    number = str(event.data.get("number") or turn.slots.get("number", ""))
    token = str(event.data.get("token", ""))
    turn.replies.append(Reply("ticket_view", t("lookup.found", turn.lang, number=number),
                              {"number": number, "token": token}))
    turn.slots.pop("number", None)
    turn.step = "done"


def _lookup_failed(turn: _Turn, event: Event) -> None:
    turn.slots.pop("number", None)
    if event.data.get("reason") == "throttled":
        turn.say("lookup_failed.throttled", minutes=_minutes(event.data.get("retry_after")) or 1)
        turn.step = "done"
    else:
        # One message for a wrong email and a wrong number: the pair is a credential.
        turn.say("lookup_failed.not_found")
        turn.step = "lookup_number"


_RESULTS: dict[tuple[str, str], Callable[[_Turn, Event], None]] = {
    ("creating_ticket", "ticket_created"): _ticket_created,
    ("creating_ticket", "ticket_failed"): _ticket_failed,
    ("looking_up", "ticket_found"): _ticket_found,
    ("looking_up", "lookup_failed"): _lookup_failed,
}


# --- moving through the forms ---------------------------------------------------------------


def _advance(turn: _Turn) -> None:
    """Ask the first ticket slot still missing; search the request once; then the summary."""
    for name in TICKET_FORM:
        if name == "suggest":
            if turn.slots.get("searched"):
                continue
            turn.slots["searched"] = True
            message = str(turn.slots.get("message", ""))
            matches = _search(turn, message)
            if matches:
                _suggest(turn, message, matches)
                return
            turn.faq_event("no_match", message, [])
            turn.say("no_match")
        elif not _filled(turn.slots, turn.faq, name):
            _enter(turn, name)
            return
    turn.slots["reviewing"] = True
    _enter(turn, "summary")


def _advance_lookup(turn: _Turn) -> None:
    for name in LOOKUP_FORM:
        slot = FLOW[name].slot
        if slot is None or not _filled(turn.slots, turn.faq, slot):
            _enter(turn, name)
            return
    turn.step = "looking_up"
    turn.effect("lookup_ticket", {"email": turn.slots["email"], "number": turn.slots["number"]})


def _filled(slots: Mapping[str, Any], faq: FaqIndex, name: str) -> bool:
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


def _enter(turn: _Turn, name: str) -> None:
    """Move to step `name` and say what it asks."""
    turn.step = name
    if name == "summary":
        turn.replies.append(_summary(turn))
    elif name == "suggest":
        _say_suggestions(turn)
    else:
        ask = FLOW[name].ask
        if ask:
            turn.say(ask, **_ask_params(turn))


def _ask_params(turn: _Turn) -> dict[str, object]:
    topic = turn.faq.topic(str(turn.slots.get("topic", "")))
    return {
        "topic": topic.label_in(turn.lang) if topic else "",
        "email": turn.slots.get("email", ""),
        "references": turn.slots.get("references", ""),
    }


def _keep_contacts(turn: _Turn) -> None:
    """Forget the finished request, keep who the student is."""
    turn.slots = {k: v for k, v in turn.slots.items() if k in CONTACT_SLOTS}


def _restart(turn: _Turn) -> None:
    turn.slots = {}
    turn.step = "welcome"
    turn.say("restarted")
    turn.say("ask_welcome")


def _switch_lang(turn: _Turn, lang: str) -> None:
    turn.lang = lang
    if turn.step == "welcome":
        turn.say("welcome")
    else:
        turn.say("lang.switched")
    spec = FLOW.get(turn.step)
    if spec is not None and not spec.waiting:
        _enter(turn, turn.step)


# --- FAQ ------------------------------------------------------------------------------------


def _search(turn: _Turn, query: str) -> list[Match]:
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


def _suggest(turn: _Turn, query: str, matches: list[Match]) -> None:
    ids = [m.id for m in matches]
    turn.slots["query"] = query
    turn.slots["shown"] = ids
    turn.slots["suggested"] = [*turn.slots.get("suggested", []), *ids]
    turn.faq_event("suggested", query, ids)
    _enter(turn, "suggest")


def _say_suggestions(turn: _Turn) -> None:
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


def _summary(turn: _Turn) -> Reply:
    slots, lang = turn.slots, turn.lang
    topic = turn.faq.topic(str(slots.get("topic", "")))
    subtopic = next(
        (s for s in (topic.subtopics if topic else ()) if s.id == slots.get("subtopic")), None
    )
    attachment = slots.get("attachment")
    shown = {
        "topic": topic.label_in(lang) if topic else "",
        "subtopic": subtopic.label_in(lang) if subtopic else "",
        "attachment": (
            str(attachment.get("filename", ""))
            if isinstance(attachment, dict)
            else t("summary.no_attachment", lang)
        ),
    }
    names = [*SUMMARY_FIELDS, *(["references"] if slots.get("references") else [])]
    fields = [
        {"key": n, "label": t(f"field.{n}", lang), "value": shown.get(n, str(slots.get(n, "")))}
        for n in names
    ]
    return Reply("summary", t("summary.intro", lang), {"fields": fields})


def _minutes(seconds: object) -> int:
    if isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds > 0:
        return max(1, math.ceil(seconds / 60))
    return 0
