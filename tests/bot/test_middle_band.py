"""The middle band in the dialogue, as transcripts: FAQs that only may help are offered hedged,
with the ticket button beside them, and every FAQ event says in which band it was shown."""

from __future__ import annotations

import pytest

from bot.faq import FaqIndex
from tests.bot.test_flow import CORPUS, EMAIL, PASSWORD, Chat

# On tests/bot/fixtures/corpus, with or without the topic: both instalments, neither sure.
UNSURE = "Ho un problema con la rata delle tasse"
UNSURE_SHORT = "credenziali"  # cred-001 alone


@pytest.fixture(scope="module")
def faq() -> FaqIndex:
    return FaqIndex.from_directory(CORPUS)


def at_maybe(faq: FaqIndex) -> Chat:
    chat = Chat(faq).choose("new_ticket").choose("immatricolazioni").choose("tasse-pagamenti")
    return chat.type(UNSURE).expect("maybe", "maybe.intro_many", "ask_maybe")


def event(kind: str, ids: list[str], band: str, query: str = UNSURE) -> dict[str, object]:
    return {"kind": kind, "query": query, "faq_ids": ids, "lang": "it", "band": band}


def test_a_middling_match_is_offered_hedged_with_the_ticket_button_first(faq: FaqIndex) -> None:
    chat = at_maybe(faq)
    assert chat.kinds == ["text", "faq", "faq", "text"]
    cards = [r.data for r in chat.replies if r.kind == "faq"]
    assert [(c["id"], c["band"]) for c in cards] == [
        ("tasse-001", "middle"),
        ("tasse-002", "middle"),
    ]
    assert chat.replies[0].text == "Non ne sono sicuro, ma forse una di queste risposte ti aiuta:"
    # no "did it solve it?" to answer before the ticket: the button is there at once
    assert chat.options == ["ticket", "solved"]
    assert chat.labels == ["Apri un ticket", "Sì, ho risolto"]
    assert chat.prompt.input == "text"
    assert chat.effects("faq_event") == [event("suggested", ["tasse-001", "tasse-002"], "middle")]


def test_the_ticket_button_goes_on_with_the_request_already_written(faq: FaqIndex) -> None:
    chat = at_maybe(faq).choose("ticket").expect("email", "not_solved", "ask_email")
    assert chat.effects("faq_event") == [event("not_solved", ["tasse-001", "tasse-002"], "middle")]
    assert chat.slots["message"] == UNSURE
    assert "shown" not in chat.slots
    chat.type(EMAIL).expect("name", "ask_name")


def test_one_of_them_may_still_solve_it(faq: FaqIndex) -> None:
    chat = at_maybe(faq).choose("solved").expect("done", "solved")
    assert chat.effects("faq_event") == [event("solved", ["tasse-001", "tasse-002"], "middle")]
    assert chat.effects("create_ticket") == []


@pytest.mark.parametrize(
    ("typed", "step", "said"),
    [
        ("no", "email", ("not_solved", "ask_email")),
        ("Apri un ticket", "email", ("not_solved", "ask_email")),
        ("voglio un operatore", "email", ("not_solved", "ask_email")),
        ("sì", "done", ("solved",)),
    ],
)
def test_the_answer_can_be_typed(
    faq: FaqIndex, typed: str, step: str, said: tuple[str, ...]
) -> None:
    at_maybe(faq).type(typed).expect(step, *said)


def test_rephrasing_in_the_middle_band_can_reach_a_sure_answer(faq: FaqIndex) -> None:
    chat = at_maybe(faq).type(PASSWORD).expect("suggest", "suggest.intro_one", "ask_solved")
    assert [(r.data["id"], r.data["band"]) for r in chat.replies if r.kind == "faq"] == [
        ("cred-001", "confident")
    ]
    assert chat.effects("faq_event") == [event("suggested", ["cred-001"], "confident", PASSWORD)]
    assert chat.options == ["solved", "not_solved"]


def test_switching_language_shows_them_again_still_hedged(faq: FaqIndex) -> None:
    chat = at_maybe(faq).choose("lang:en")
    chat.expect("maybe", "lang.switched", "maybe.intro_many", "ask_maybe")
    assert chat.replies[1].text == "I'm not sure, but maybe one of these answers helps:"
    assert [r.data["band"] for r in chat.replies if r.kind == "faq"] == ["middle", "middle"]
    assert chat.labels == ["Open a ticket", "Yes, that solved it"]
    assert chat.effects("faq_event") == []  # nothing new was shown


def test_an_unsure_question_at_the_welcome_then_the_ticket_asks_the_topic(faq: FaqIndex) -> None:
    chat = Chat(faq).type(UNSURE_SHORT).expect("maybe", "maybe.intro_one", "ask_maybe")
    assert chat.effects("faq_event") == [event("suggested", ["cred-001"], "middle", UNSURE_SHORT)]
    chat.choose("ticket").expect("topic", "not_solved", "ask_topic")
    chat.choose("immatricolazioni").choose("credenziali").expect("email", "ask_email")


def test_nothing_relevant_is_still_the_no_match_path(faq: FaqIndex) -> None:
    chat = Chat(faq).type("wifi?").expect("topic", "no_match", "ask_topic")
    assert chat.effects("faq_event") == [event("no_match", [], "none", "wifi?")]
