"""Properties that hold whatever a student types (Hypothesis): the validators answer every
text with a value or a named error and never raise, and what they accept they accept again
unchanged; the dialogue's step answers any sequence of events, never leaves the flow's table,
and never touches the state it was given."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine import Event, Outcome, State, prompt_for, start, step
from bot.faq import FaqIndex
from bot.flow import FLOW
from bot.i18n import LANGS, has
from bot.results import RESULT_EVENTS
from bot.validate import (
    EMAIL_MAX,
    MESSAGE_MAX,
    NAME_MAX,
    TICKET_FIELDS,
    Invalid,
    Valid,
    validate_email,
    validate_message,
    validate_name,
    validate_number,
    validate_phone,
    validate_reply,
    validate_ticket,
)

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
FAST = settings(max_examples=150, deadline=None)
# What a phone keyboard, a paste from a PDF or a script can put in a text box.
TEXT = st.one_of(
    st.text(max_size=300),
    st.text(alphabet="0123456789 +-()./#", max_size=30),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzàèéìòù@.-_' ", max_size=60),
    st.from_regex(r"[a-z0-9._%+-]{1,20}@[a-z0-9-]{1,12}\.[a-z]{2,4}", fullmatch=True),
    st.from_regex(r"\+?39 ?3[0-9]{2} ?[0-9]{6,7}", fullmatch=True),
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=4),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def faq() -> FaqIndex:
    return FaqIndex.from_directory(CORPUS)


def known(result: Valid | Invalid) -> bool:
    return isinstance(result, Valid) or has(result.key)


@FAST
@given(TEXT)
def test_every_validator_answers_any_text(text: str) -> None:
    email, phone, name = validate_email(text), validate_phone(text), validate_name(text)
    message, reply, number = validate_message(text), validate_reply(text), validate_number(text)
    for result in (email, phone, name, message, reply, number):
        assert known(result), result
    if isinstance(email, Valid):
        assert email.value == email.value.lower() and len(email.value) <= EMAIL_MAX
        assert validate_email(email.value) == email
    if isinstance(phone, Valid):
        assert re.fullmatch(r"\+[1-9][0-9]{6,14}", phone.value)
        assert validate_phone(phone.value) == phone
    if isinstance(name, Valid):
        assert 2 <= len(name.value) <= NAME_MAX and not any(c.isdigit() for c in name.value)
        assert validate_name(name.value) == name
    if isinstance(message, Valid):
        assert 10 <= len(message.value) <= MESSAGE_MAX
        assert validate_message(message.value) == message
    if isinstance(number, Valid):
        assert re.fullmatch(r"[0-9]{6}", number.value)
        assert validate_number(number.value) == number


@FAST
@given(st.dictionaries(st.sampled_from([*TICKET_FIELDS, "lang", "x"]), JSON | TEXT))
def test_a_ticket_form_of_anything_is_sorted_into_values_and_errors(
    faq: FaqIndex, fields: dict[str, Any]
) -> None:
    before = copy.deepcopy(fields)
    clean, errors = validate_ticket(fields, faq)
    assert fields == before
    assert set(errors) <= set(TICKET_FIELDS) and all(has(key) for key in errors.values())
    assert set(clean) | set(errors) == {*TICKET_FIELDS, "lang"}
    assert clean["lang"] in LANGS


STUDENT_EVENTS = st.one_of(
    st.builds(Event, st.just("text"), TEXT),
    st.builds(Event, st.just("choose"), st.text(max_size=30)),
    st.builds(Event, st.just("restart")),
    st.builds(Event, st.sampled_from(["attachment", "nonsense"]), st.text(max_size=10),
              st.dictionaries(st.sampled_from(["id", "filename", "size"]), JSON)),
    # results of effects arrive late, twice, or with odd values: the web layer sends them
    st.builds(Event, st.sampled_from(sorted(RESULT_EVENTS)), st.text(max_size=12),
              st.dictionaries(st.sampled_from(["number", "token", "status_url"]), JSON)),
)


def through_storage(state: State) -> State:
    stored = json.loads(json.dumps({"step": state.step, "slots": dict(state.slots),
                                    "lang": state.lang}))
    return State(**stored)


# A value the step expects, as a helpful student types it: the walk then reaches the end of
# the flow (summary, ticket, look-up) instead of circling at the first steps.
GOOD_VALUES = {
    "email": "mario.rossi@gmail.com",
    "name": "Rossi Mario",
    "tel": "+393331234567",
    "text": "Come pago la prima rata delle tasse universitarie?",
}
RESULTS_OF = {
    "create_ticket": [Event("ticket_created", "000412", {"token": "t"}), Event("ticket_failed")],
    "lookup_ticket": [Event("ticket_found", "000412", {"token": "t"}), Event("lookup_failed")],
}


def plausible(outcome: Outcome) -> list[Event]:
    events = [Event("choose", o.id) for o in outcome.prompt.options]
    for effect in outcome.effects:
        events += RESULTS_OF.get(effect.kind, [])
    if outcome.prompt.input in GOOD_VALUES:
        events.append(Event("text", GOOD_VALUES[outcome.prompt.input]))
    if outcome.state.step == "lookup_number":
        events.append(Event("text", "#000412"))
    return events


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(LANGS), st.data())
def test_any_sequence_of_events_keeps_the_dialogue_in_its_table(
    faq: FaqIndex, lang: str, data: st.DataObject
) -> None:
    outcome = start(lang, faq)
    for _ in range(30):
        state = through_storage(outcome.state)
        expected = plausible(outcome)
        event = data.draw(
            st.one_of(st.sampled_from(expected), st.sampled_from(expected), STUDENT_EVENTS)
            if expected else STUDENT_EVENTS
        )
        before = copy.deepcopy(state)
        outcome = step(state, event, faq)
        assert state == before  # the state it was given is not touched
        assert outcome.state.step in FLOW
        assert outcome.state.lang in LANGS
        assert outcome.prompt == prompt_for(outcome.state, faq)
        assert all(reply.text for reply in outcome.replies)
        json.dumps(dict(outcome.state.slots))  # what storage keeps stays JSON
        hypothesis.event(outcome.state.step)
