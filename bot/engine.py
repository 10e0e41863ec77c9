"""The dialogue's entry: `start`, `step(state, event, faq)` and `prompt_for` run the table of
bot.flow, and `step` is where every event goes.

It is pure: it reads the state, the event and the FAQ index and returns the next state, what
to say and what the web layer should do (effects). It never raises on what a student sends: a
wrong button, text where a button was expected or a bad value gets a reply in the
conversation's language and keeps the step. Results of effects come back as events.

Its parts: bot.turn (the values and the Turn being built), bot.forms (which step comes next),
bot.suggest (the FAQ suggestions), bot.summary (the summary before confirming) and bot.results
(what a result of an effect does).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from bot import forms, suggest
from bot.flow import (
    EXACT,
    FLOW,
    LOOKUP_FORM,
    OPENED,
    PREFILL_SLOTS,
    SUMMARY_FIELDS,
    VALIDATORS,
    Step,
    asked_language,
    fold,
    intent,
    named_field,
    typed_number,
    typed_position,
)
from bot.i18n import LANGS, normalise_lang, t
from bot.results import RESULT_EVENTS, RESULTS
from bot.turn import Effect, Event, Option, Outcome, Prompt, Reply, State, Turn
from bot.validate import MAX_ATTACHMENT_BYTES, MESSAGE_MAX, Valid, validate_message

if TYPE_CHECKING:
    from bot.faq import FaqIndex

# The web layer reads the dialogue's values here, beside the functions that take and give them.
__all__ = [
    "ACTIONS", "RESULT_EVENTS", "Effect", "Event", "Option", "Outcome", "Prompt", "Reply",
    "State", "prompt_for", "start", "step",
]


def start(lang: str, faq: FaqIndex, slots: Mapping[str, Any] | None = None) -> Outcome:
    """The welcome. `slots` may prefill email, name, phone and references (the number of a
    closed ticket): a follow-up then goes straight to the new ticket, skipping valid data."""
    turn = Turn(State("welcome", {}, normalise_lang(lang)), faq)
    for name in PREFILL_SLOTS:
        value = (slots or {}).get(name)
        if isinstance(value, str):
            # an invalid prefilled value is simply asked again
            result = VALIDATORS["number" if name == "references" else name](value)
            if isinstance(result, Valid):
                turn.slots[name] = result.value
    if "references" in turn.slots:
        turn.say("follow_up.intro", references=turn.slots["references"])
        forms.advance(turn)
    else:
        turn.say("welcome")
        turn.say("ask_welcome")
    return _outcome(turn)


def step(state: State, event: Event, faq: FaqIndex) -> Outcome:
    """The next state, replies, prompt and effects after `event`."""
    turn = Turn(state, faq)
    spec = FLOW.get(turn.step)
    if spec is None or event.kind == "restart" or (
        event.kind == "text" and fold(event.value) in EXACT["restart"]
    ):
        _restart(turn)
    elif event.kind in RESULT_EVENTS:
        # A result at a step that is not waiting for it is late or repeated: nothing to do.
        handler = RESULTS.get((turn.step, event.kind))
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
    return _outcome(turn)


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
    if spec.form == "ticket" and slots.get("reviewing") and forms.filled(slots, faq, state.step):
        options.append(Option("keep", t("option.keep", lang)))
    if state.step == "welcome":
        other = "en" if lang == "it" else "it"
        options.append(Option(f"lang:{other}", t(f"option.lang.{other}", lang)))
    placeholder = t(spec.placeholder, lang) if spec.placeholder else ""
    return Prompt(tuple(options), spec.input, placeholder)


def _outcome(turn: Turn) -> Outcome:
    state = turn.state()
    return Outcome(state, tuple(turn.replies), prompt_for(state, turn.faq), tuple(turn.effects))


# --- what the student does ------------------------------------------------------------------


def _choose(turn: Turn, spec: Step, option: str) -> None:
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
        forms.advance(turn)
    elif spec.choices == "topics":
        turn.slots["topic"] = option
        turn.slots.pop("subtopic", None)
        forms.advance(turn)
    elif spec.choices == "subtopics":
        turn.slots["subtopic"] = option
        forms.advance(turn)
    elif spec.choices == "fields":
        forms.enter(turn, option.removeprefix("edit:"))


def _text(turn: Turn, spec: Step, raw: str) -> None:
    text = raw.strip()
    if not text:
        turn.say("wrong_text.empty")
        return
    if len(text) > MESSAGE_MAX:
        turn.say("wrong_text.too_long")
        return
    # A typed button label ("Sì, ho risolto", "Immatricolazioni", "English") is that button.
    folded = fold(text)
    options = prompt_for(turn.state(), turn.faq).options
    for option in options:
        if folded in (fold(option.label), option.id):
            _choose(turn, spec, option.id)
            return
    if spec.choices:
        # the list drawn from data comes first, before the step's own buttons
        listed = [o.id for o in options if o.id not in spec.options and o.id != "keep"]
        position = typed_position(text, len(listed))
        if position is not None:
            _choose(turn, spec, listed[position - 1])
            return
    asked = asked_language(text)
    if asked is not None and asked != turn.lang:
        _switch_lang(turn, asked)
        return
    field = named_field(text, correcting=spec.choices != "fields")
    if field is not None and _may_edit(turn, spec, field):
        forms.edit(turn, field)
        return
    command = intent(text)
    if command == "back" and spec.form == "ticket":
        forms.back(turn)
    elif command in ("yes", "thanks") and spec.yes:
        ACTIONS[spec.yes](turn)
    elif command == "no" and spec.no:
        ACTIONS[spec.no](turn)
    elif command == "greeting" and spec.slot == "message":
        turn.say("wrong_message.vague")  # "buonasera, avrei bisogno di aiuto" says no problem
    elif spec.text == "value" and spec.slot:
        _fill(turn, spec, spec.slot, text)
    elif spec.text == "question":
        _question(turn, text, command)
    elif spec.text == "attachment":
        turn.say("wrong_attachment.text")
    else:
        turn.say("wrong_text.use_buttons")


def _may_edit(turn: Turn, spec: Step, field: str) -> bool:
    """Whether a correction of `field` applies here: on the summary, or in a form to a value
    already given. At the request only the choices before it: "devo cambiare la mail di
    Ateneo" is a request, even with the contact data kept from an earlier one."""
    if turn.step in ("summary", "correct"):
        return True
    if spec.form == "lookup":
        return field == "email" and "email" in turn.slots
    if turn.step == "message":
        return field in ("topic", "subtopic")
    return spec.form == "ticket" and (field in turn.slots or field == turn.step)


def _attachment(turn: Turn, data: Mapping[str, Any]) -> None:
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
        forms.advance(turn)
    elif turn.step in ("summary", "correct"):
        forms.enter(turn, "summary")


def _fill(turn: Turn, spec: Step, slot: str, text: str) -> None:
    result = VALIDATORS[slot](text)
    if not isinstance(result, Valid):
        turn.say(result.key)
        return
    turn.slots[slot] = result.value
    if spec.form == "lookup":
        forms.advance_lookup(turn)
    else:
        forms.advance(turn)


def _question(turn: Turn, text: str, command: str | None) -> None:
    """Free text where a question makes sense: a command, or a question for the FAQ."""
    if command == "operator":
        if turn.step in suggest.BAND_OF:
            _not_solved(turn)
        else:
            turn.say("operator.offer")
            forms.advance(turn)
    elif command == "have_ticket":
        _have_ticket(turn, typed_number(text))
    elif turn.step in ("welcome", "done") and (number := typed_number(text)):
        _have_ticket(turn, number)
    elif command == "greeting":
        turn.say("greeting")
    elif command in ("yes", "no", "blank"):
        # "ok", "no", "???" with nothing to confirm: not a question worth a "no FAQ found"
        turn.say("nudge")
    elif command == "thanks":
        turn.say("thanks")
    else:
        if (opened := turn.slots.pop(OPENED, None)) is not None:
            # Right after a ticket, more text is most often more for that ticket ("ho
            # dimenticato l'allegato"): a second ticket would reach an operator without the
            # first one's thread.
            turn.say("ticket.add_to_it", number=opened)
        _search_question(turn, text)


def _search_question(turn: Turn, text: str) -> None:
    # A question long enough to be the ticket's request becomes it, so it is never retyped.
    message = validate_message(text)
    if isinstance(message, Valid) and not forms.filled(turn.slots, turn.faq, "message"):
        turn.slots["message"] = message.value
        turn.slots["searched"] = True
    found = suggest.offer(turn, text)
    if found:
        forms.enter(turn, found)
    else:
        forms.advance(turn)


# --- actions named in the table ---------------------------------------------------------------


def _new_ticket(turn: Turn) -> None:
    turn.slots.pop(OPENED, None)
    turn.say("new_ticket.intro")
    forms.advance(turn)


def _have_ticket(turn: Turn, number: str | None = None) -> None:
    forms.keep_contacts(turn)
    if number:
        turn.slots["number"] = number
    forms.advance_lookup(turn)


def _solved(turn: Turn) -> None:
    suggest.answered(turn, "solved")
    turn.say("solved")
    forms.keep_contacts(turn)
    turn.step = "done"


def _not_solved(turn: Turn) -> None:
    suggest.answered(turn, "not_solved")
    turn.slots.pop("shown", None)
    turn.say("not_solved")
    forms.advance(turn)


def _skip_attachment(turn: Turn) -> None:
    turn.slots["attachment"] = None
    forms.advance(turn)


def _back_to_topic(turn: Turn) -> None:
    turn.slots.pop("subtopic", None)
    if not turn.slots.get("reviewing"):
        turn.slots.pop("topic", None)
    forms.enter(turn, "topic")


def _leave_lookup(turn: Turn) -> None:
    # contacts kept after a ticket stay, for the next one
    turn.slots.pop("number", None)
    turn.step = "welcome"
    turn.say("ask_welcome")


def _change_email(turn: Turn) -> None:
    turn.slots.pop("email", None)
    forms.advance_lookup(turn)


def _confirm(turn: Turn) -> None:
    slots = turn.slots
    if not all(forms.filled(slots, turn.faq, name) for name in SUMMARY_FIELDS):
        # The FAQ topics changed under the conversation, or a slot was lost: ask again.
        turn.say("ticket_failed.invalid")
        forms.advance(turn)
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


ACTIONS: dict[str, Callable[[Turn], None]] = {
    "new_ticket": _new_ticket,
    "have_ticket": _have_ticket,
    "solved": _solved,
    "not_solved": _not_solved,
    "skip_attachment": _skip_attachment,
    "back_to_topic": _back_to_topic,
    "change_email": _change_email,
    "leave_lookup": _leave_lookup,
    "confirm": _confirm,
    "correct": lambda turn: forms.enter(turn, "correct"),
    "summary": lambda turn: forms.enter(turn, "summary"),
}


# --- restarting and switching language ------------------------------------------------------


def _restart(turn: Turn) -> None:
    turn.slots = {}
    turn.step = "welcome"
    turn.say("restarted")
    turn.say("ask_welcome")


def _switch_lang(turn: Turn, lang: str) -> None:
    turn.lang = lang
    if turn.step == "welcome":
        turn.say("welcome")
    else:
        turn.say("lang.switched")
    spec = FLOW.get(turn.step)
    if spec is not None and not spec.waiting:
        forms.enter(turn, turn.step)
