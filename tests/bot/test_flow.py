"""The guided dialogue, as transcripts: what the student does, where the bot goes, what it says.

`Chat` plays the web layer: it keeps the state (through JSON, as storage does), sends one event
at a time and feeds effects' results back. `expect(step, *keys)` checks the step reached and
the text replies of the last turn, by i18n key, in order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from bot.engine import Event, Outcome, Prompt, Reply, State, prompt_for, start, step
from bot.faq import FaqIndex
from bot.flow import FLOW
from bot.i18n import t

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
QUESTION = "Come pago la prima rata delle tasse universitarie?"  # tasse-001 answers it
PASSWORD = "Ho dimenticato la password delle credenziali di Ateneo"  # cred-001
NO_MATCH = "Vorrei sapere gli orari della biblioteca e se c'è il wifi"
QUESTION_EN = "How do I pay the first instalment of the university fees?"
EMAIL = "mario.rossi@gmail.com"
PHONE = "+393331234567"


@pytest.fixture(scope="module")
def faq() -> FaqIndex:
    return FaqIndex.from_directory(CORPUS)


Said = str | tuple[str, Mapping[str, object]]


def T(key: str, **params: object) -> tuple[str, Mapping[str, object]]:  # noqa: N802
    """A text reply with placeholders, for expect()."""
    return (key, params)


class Chat:
    """A student in the widget. Every turn goes through JSON and checks prompt_for()."""

    def __init__(self, faq: FaqIndex, lang: str = "it", slots: Mapping[str, Any] | None = None):
        self.faq = faq
        self.outcome = start(lang, faq, slots)

    # what the student (or the web layer) does
    def send(self, event: Event) -> Chat:
        stored = json.loads(json.dumps(
            {"step": self.state.step, "slots": dict(self.state.slots), "lang": self.state.lang}
        ))
        self.outcome = step(State(**stored), event, self.faq)
        assert prompt_for(self.outcome.state, self.faq) == self.outcome.prompt
        return self

    def choose(self, option: str) -> Chat:
        return self.send(Event("choose", option))

    def type(self, text: str) -> Chat:
        return self.send(Event("text", text))

    def attach(self, filename: str = "schermata.png", size: int = 120_000) -> Chat:
        data = {"id": "a1b2", "filename": filename, "size": size}
        return self.send(Event("attachment", data=data))

    def result(self, kind: str, value: str = "", **data: Any) -> Chat:
        return self.send(Event(kind, value, data))

    # what the student sees
    @property
    def state(self) -> State:
        return self.outcome.state

    @property
    def step(self) -> str:
        return self.state.step

    @property
    def slots(self) -> Mapping[str, Any]:
        return self.state.slots

    @property
    def replies(self) -> tuple[Reply, ...]:
        return self.outcome.replies

    @property
    def prompt(self) -> Prompt:
        return self.outcome.prompt

    @property
    def options(self) -> list[str]:
        return [o.id for o in self.prompt.options]

    @property
    def labels(self) -> list[str]:
        return [o.label for o in self.prompt.options]

    @property
    def kinds(self) -> list[str]:
        return [r.kind for r in self.replies]

    def effects(self, kind: str) -> list[Mapping[str, Any]]:
        return [e.data for e in self.outcome.effects if e.kind == kind]

    def text(self, said: Said) -> str:
        key, params = (said, {}) if isinstance(said, str) else said
        return t(key, self.state.lang, **params)

    def expect(self, step: str, *said: Said) -> Chat:
        assert self.step == step
        assert [r.text for r in self.replies if r.kind == "text"] == [self.text(s) for s in said]
        return self


def at_suggestions(faq: FaqIndex) -> Chat:
    chat = Chat(faq).choose("new_ticket").choose("immatricolazioni").choose("tasse-pagamenti")
    return chat.type(QUESTION).expect("suggest", "suggest.intro_many", "ask_solved")


def at_email(faq: FaqIndex) -> Chat:
    return at_suggestions(faq).choose("not_solved").expect("email", "not_solved", "ask_email")


def at_summary(faq: FaqIndex) -> Chat:
    chat = at_email(faq).type(EMAIL).type("Rossi Mario").type("333 1234567")
    return chat.choose("skip_attachment").expect("summary")


def summary_values(chat: Chat) -> dict[str, str]:
    (summary,) = [r for r in chat.replies if r.kind == "summary"]
    return {f["key"]: f["value"] for f in summary.data["fields"]}


# --- welcome ---------------------------------------------------------------------------------


def test_welcome_offers_a_new_ticket_a_status_check_english_and_a_text_box(faq: FaqIndex) -> None:
    chat = Chat(faq).expect("welcome", "welcome", "ask_welcome")
    assert chat.labels == ["Apri un nuovo ticket", "Ho già un ticket", "English"]
    assert chat.options == ["new_ticket", "have_ticket", "lang:en"]
    assert chat.prompt.input == "text"
    assert chat.prompt.placeholder == t("placeholder.welcome", "it")


def test_switching_to_english_at_the_welcome_and_back(faq: FaqIndex) -> None:
    chat = Chat(faq).choose("lang:en").expect("welcome", "welcome", "ask_welcome")
    assert chat.state.lang == "en"
    assert chat.labels == ["Open a new ticket", "I already have a ticket", "Italiano"]
    chat.type("italiano").expect("welcome", "welcome", "ask_welcome")
    assert chat.state.lang == "it"


def test_switching_language_keeps_the_place_and_the_data(faq: FaqIndex) -> None:
    chat = at_email(faq).type(EMAIL).expect("name", "ask_name")
    chat.choose("lang:en").expect("name", "lang.switched", "ask_name")
    assert chat.state.lang == "en"
    assert chat.slots["email"] == EMAIL
    assert chat.prompt.placeholder == "Rossi Mario"
    chat.type("Rossi").expect("name", "wrong_name.one_word")
    assert chat.replies[0].text.startswith("I need both your surname")


def test_switching_language_at_the_suggestions_shows_them_again_translated(faq: FaqIndex) -> None:
    chat = at_suggestions(faq).choose("lang:en")
    chat.expect("suggest", "lang.switched", "suggest.intro_many", "ask_solved")
    first = [r for r in chat.replies if r.kind == "faq"][0]
    assert first.data["question"] == "How do I pay the first instalment of the university fees?"


# --- the new-ticket path, all the way ---------------------------------------------------------


def test_new_ticket_from_welcome_to_the_ticket_number(faq: FaqIndex) -> None:
    chat = Chat(faq)
    chat.choose("new_ticket").expect("topic", "new_ticket.intro", "ask_topic")
    assert chat.options == ["immatricolazioni", "carriera"]  # file order, Immatricolazioni first
    assert chat.labels[0] == "Immatricolazioni"

    chat.choose("immatricolazioni").expect("subtopic", T("ask_subtopic", topic="Immatricolazioni"))
    assert chat.options == ["tasse-pagamenti", "credenziali", "back"]

    # a typed label is the same as the button
    chat.type("tasse e pagamenti").expect("message", "ask_message")
    assert chat.prompt.input == "text"

    chat.type("aiuto!").expect("message", "wrong_message.vague")
    chat.type("isee?").expect("message", "wrong_message.too_short")
    chat.type(QUESTION).expect("suggest", "suggest.intro_many", "ask_solved")
    faqs = [r for r in chat.replies if r.kind == "faq"]
    assert 1 <= len(faqs) <= 3
    assert faqs[0].data == {
        "id": "tasse-001",
        "question": "Come pago la prima rata delle tasse universitarie?",
        "answer": "La prima rata si paga con pagoPA dal portale SOL, nella sezione Pagamenti, "
        "dopo aver compilato la domanda di immatricolazione.",
        "links": [{"label": "Tasse e contributi", "url": "https://www.unipg.it/didattica/tasse"}],
        "band": "confident",
    }
    assert chat.labels == ["Sì, ho risolto", "No, ho ancora bisogno di aiuto"]
    shown = [f.data["id"] for f in faqs]
    assert chat.effects("faq_event") == [
        {
            "kind": "suggested",
            "query": QUESTION,
            "faq_ids": shown,
            "lang": "it",
            "band": "confident",
        }
    ]

    chat.choose("not_solved").expect("email", "not_solved", "ask_email")
    assert chat.effects("faq_event") == [
        {
            "kind": "not_solved",
            "query": QUESTION,
            "faq_ids": shown,
            "lang": "it",
            "band": "confident",
        }
    ]
    assert chat.prompt.input == "email"

    chat.type("mario.rossi@gmail").expect("email", "wrong_email.domain_dot")
    chat.type(" Mario.Rossi@Gmail.com ").expect("name", "ask_name")
    assert chat.prompt.input == "name"

    chat.type("Rossi").expect("name", "wrong_name.one_word")
    chat.type("Rossi  Mario").expect("phone", "ask_phone")
    assert chat.prompt.input == "tel"

    chat.type("075 585 2000").expect("phone", "wrong_phone.not_mobile")
    chat.type("333 123 4567").expect("attachment", "ask_attachment")
    assert chat.prompt.input == "file"
    assert chat.labels == ["Continua senza allegato"]

    chat.choose("skip_attachment").expect("summary")
    assert chat.kinds == ["summary"]
    assert chat.replies[0].text == t("summary.intro", "it")
    assert summary_values(chat) == {
        "email": EMAIL,
        "name": "Rossi Mario",
        "phone": PHONE,
        "topic": "Immatricolazioni",
        "subtopic": "Tasse e pagamenti",
        "message": QUESTION,
        "attachment": "nessuno",
    }
    assert chat.labels == ["Invia la richiesta", "Correggi un dato"]

    chat.choose("confirm").expect("creating_ticket")
    assert chat.effects("create_ticket") == [{
        "email": EMAIL,
        "name": "Rossi Mario",
        "phone": PHONE,
        "topic": "immatricolazioni",
        "subtopic": "tasse-pagamenti",
        "message": QUESTION,
        "lang": "it",
        "attachment_id": None,
        "references": None,
        "suggested_faqs": shown,
    }]

    # while the web layer creates the ticket, anything the student does waits
    chat.type("allora?").expect("creating_ticket", "wait")
    chat.choose("confirm").expect("creating_ticket", "wait")
    assert chat.effects("create_ticket") == []

    chat.result("ticket_created", "412")
    chat.expect("done", "ticket.keep_number", T("ticket.next", email=EMAIL))
    assert chat.kinds == ["ticket", "text", "text"]
    assert chat.replies[0].data == {"number": "000412"}
    assert "000412" in chat.replies[0].text
    assert "compresi gli zeri" in chat.replies[1].text
    # the contact data stays for a second request, and the number until the student's next
    # move; the rest is forgotten
    assert dict(chat.slots) == {
        "email": EMAIL, "name": "Rossi Mario", "phone": PHONE, "opened": "000412"
    }


def test_solved_ends_without_a_ticket(faq: FaqIndex) -> None:
    chat = at_suggestions(faq)
    shown = chat.slots["shown"]
    chat.choose("solved").expect("done", "solved")
    assert chat.effects("faq_event") == [
        {"kind": "solved", "query": QUESTION, "faq_ids": shown, "lang": "it", "band": "confident"}
    ]
    assert chat.effects("create_ticket") == []
    assert dict(chat.slots) == {}
    assert chat.options == ["new_ticket", "have_ticket"]


@pytest.mark.parametrize(
    "typed",
    [
        "sì", "Si!", "ok", "grazie", "Sì, ho risolto",
        # said the way students say it: any order, with thanks and filler
        "ok grazie", "ok grazie mille", "sisi", "risolto grazie", "perfetto grazie",
        "tutto chiaro, grazie!", "ok thanks", "yes thank you",
    ],
)
def test_solved_can_be_typed(faq: FaqIndex, typed: str) -> None:
    at_suggestions(faq).type(typed).expect("done", "solved")


@pytest.mark.parametrize(
    "typed",
    [
        "no", "No, ho ancora bisogno di aiuto", "voglio un operatore", "no non ho risolto",
        "nn ho risolto", "no purtroppo", "no, not really", "no, non è quello",
        "ok ma non ho risolto",
    ],
)
def test_not_solved_can_be_typed(faq: FaqIndex, typed: str) -> None:
    at_suggestions(faq).type(typed).expect("email", "not_solved", "ask_email")


def test_no_relevant_faq_says_so_and_goes_on_to_the_data(faq: FaqIndex) -> None:
    chat = Chat(faq).choose("new_ticket").choose("carriera").choose("certificati")
    chat.type(NO_MATCH).expect("email", "no_match", "ask_email")
    assert chat.effects("faq_event") == [
        {"kind": "no_match", "query": NO_MATCH, "faq_ids": [], "lang": "it", "band": "none"}
    ]


def test_rephrasing_at_the_suggestions_searches_again_without_repeating(faq: FaqIndex) -> None:
    chat = at_suggestions(faq)
    first = set(chat.slots["shown"])
    chat.type(PASSWORD).expect("suggest", "suggest.intro_one", "ask_solved")
    again = [r.data["id"] for r in chat.replies if r.kind == "faq"]
    assert again == ["cred-001"] and not first & set(again)
    # nothing new to show: say so and go on with the ticket
    chat.type(PASSWORD).expect("email", "no_match", "ask_email")
    assert chat.slots["message"] == QUESTION


# --- free text where it makes sense ----------------------------------------------------------


def test_a_question_typed_at_the_welcome_is_searched_and_becomes_the_request(
    faq: FaqIndex,
) -> None:
    chat = Chat(faq).type(PASSWORD).expect("suggest", "suggest.intro_one", "ask_solved")
    assert [r.data["id"] for r in chat.replies if r.kind == "faq"] == ["cred-001"]
    assert chat.effects("faq_event")[0]["kind"] == "suggested"
    # not solved: the ticket still needs topic and subtopic, but not the question again
    chat.choose("not_solved").expect("topic", "not_solved", "ask_topic")
    chat.choose("immatricolazioni").choose("credenziali").expect("email", "ask_email")
    assert chat.slots["message"] == PASSWORD


def test_a_question_typed_at_the_topic_step_is_searched(faq: FaqIndex) -> None:
    chat = Chat(faq).choose("new_ticket").type(PASSWORD)
    chat.expect("suggest", "suggest.intro_one", "ask_solved")
    chat.type("sì").expect("done", "solved")


def test_a_short_question_without_answer_goes_to_the_topics_and_asks_the_details_later(
    faq: FaqIndex,
) -> None:
    chat = Chat(faq).type("wifi?").expect("topic", "no_match", "ask_topic")
    assert "message" not in chat.slots
    chat.choose("carriera").choose("certificati").expect("message", "ask_message")
    # the request itself is searched once more: it may say more than the first words did
    chat.type("Come scarico il certificato di iscrizione?")
    chat.expect("suggest", "suggest.intro_one", "ask_solved")


def test_a_question_typed_at_the_subtopic_step_is_searched_within_the_topic(
    faq: FaqIndex,
) -> None:
    chat = Chat(faq).choose("new_ticket").choose("immatricolazioni").type(PASSWORD)
    chat.expect("suggest", "suggest.intro_one", "ask_solved")
    chat.choose("not_solved")
    chat.expect("subtopic", "not_solved", T("ask_subtopic", topic="Immatricolazioni"))


@pytest.mark.parametrize("typed", ["operatore", "Vorrei parlare con un operatore!", "operator"])
def test_asking_for_an_operator_offers_the_ticket_path(faq: FaqIndex, typed: str) -> None:
    chat = Chat(faq).type(typed).expect("topic", "operator.offer", "ask_topic")
    assert chat.effects("faq_event") == []


def test_a_long_question_that_mentions_an_operator_is_still_a_question(faq: FaqIndex) -> None:
    chat = Chat(faq).type(
        "L'operatore non mi ha ancora risposto ma " + PASSWORD.lower() + " e non so cosa fare"
    )
    assert chat.step == "suggest"


@pytest.mark.parametrize(
    "typed",
    [
        "ciao", "Buongiorno!", "hello", "ciao raga", "Ciao, buonasera",
        # a call for help that says nothing of the problem is no request to search or keep
        "buonasera, avrei bisogno di aiuto", "salve, ho una domanda", "aiuto", "info",
        "hello, I have a question",
    ],
)
def test_a_greeting_is_answered_and_keeps_the_welcome(faq: FaqIndex, typed: str) -> None:
    chat = Chat(faq).type(typed).expect("welcome", "greeting")
    assert "message" not in chat.slots and chat.effects("faq_event") == []


def test_a_greeting_where_the_request_is_asked_asks_for_the_problem(faq: FaqIndex) -> None:
    chat = Chat(faq).choose("new_ticket").choose("immatricolazioni").choose("tasse-pagamenti")
    chat.expect("message", "ask_message")
    chat.type("buonasera, avrei bisogno di aiuto").expect("message", "wrong_message.vague")
    assert "message" not in chat.slots


def test_asking_to_open_a_ticket_asks_for_the_problem_later(faq: FaqIndex) -> None:
    chat = Chat(faq).type("voglio aprire un ticket").expect("topic", "operator.offer", "ask_topic")
    assert "message" not in chat.slots


@pytest.mark.parametrize("typed", ["ok", "no", "sì"])
def test_yes_or_no_with_nothing_to_answer_gets_a_nudge(faq: FaqIndex, typed: str) -> None:
    Chat(faq).type(typed).expect("welcome", "nudge")
    Chat(faq).choose("new_ticket").type(typed).expect("topic", "nudge")


@pytest.mark.parametrize(
    "typed", ["\U0001f44d", "\U0001f44d\U0001f3fb", "\U0001f44c", "\u2705\ufe0f", "\U0001f64f"]
)
def test_an_emoji_yes_to_the_suggestions_is_solved(faq: FaqIndex, typed: str) -> None:
    # a thumbs-up was searched as a question: "no FAQ found", then on to a ticket
    chat = at_suggestions(faq).type(typed).expect("done", "solved")
    assert chat.effects("faq_event")[0]["kind"] == "solved"


@pytest.mark.parametrize("typed", ["\U0001f44e", "\u274c"])
def test_an_emoji_no_to_the_suggestions_opens_the_ticket(faq: FaqIndex, typed: str) -> None:
    at_suggestions(faq).type(typed).expect("email", "not_solved", "ask_email")


@pytest.mark.parametrize("typed", ["\U0001f642\U0001f642", "???", "...", "\U0001f44d"])
def test_text_without_words_is_no_question_for_the_faq(faq: FaqIndex, typed: str) -> None:
    chat = Chat(faq).choose("new_ticket").type(typed).expect("topic", "nudge")
    assert chat.effects("faq_event") == [] and "message" not in chat.slots


@pytest.mark.parametrize("typed", ["grazie mille", "ok grazie mille", "perfetto, grazie"])
def test_thanks_at_the_end(faq: FaqIndex, typed: str) -> None:
    chat = at_suggestions(faq).choose("solved").type(typed).expect("done", "thanks")
    assert chat.effects("create_ticket") == [] and "message" not in chat.slots


@pytest.mark.parametrize("typed", ["ricomincia", "Ricominciamo!", "da capo", "restart"])
def test_ricomincia_restarts_from_anywhere(faq: FaqIndex, typed: str) -> None:
    chat = at_email(faq).type(EMAIL).type(typed).expect("welcome", "restarted", "ask_welcome")
    assert dict(chat.slots) == {}


def test_the_restart_event_restarts_even_while_waiting(faq: FaqIndex) -> None:
    chat = at_summary(faq).choose("confirm").expect("creating_ticket")
    chat.send(Event("restart")).expect("welcome", "restarted", "ask_welcome")


def test_back_from_the_subtopics_to_the_topics(faq: FaqIndex) -> None:
    chat = Chat(faq).choose("new_ticket").choose("immatricolazioni")
    chat.choose("back").expect("topic", "ask_topic")
    assert "topic" not in chat.slots
    chat.choose("carriera").expect("subtopic", T("ask_subtopic", topic="Carriera universitaria"))
    assert chat.options == ["certificati", "back"]


@pytest.mark.parametrize("typed", ["2", "la seconda", "2ª", "il secondo", "the second one"])
def test_a_place_in_the_list_typed_chooses_that_button(faq: FaqIndex, typed: str) -> None:
    # "2" was searched in the FAQ ("no FAQ found") and "la seconda" became the request
    chat = Chat(faq).choose("new_ticket").type(typed)
    chat.expect("subtopic", T("ask_subtopic", topic="Carriera universitaria"))
    assert chat.slots["topic"] == "carriera" and "message" not in chat.slots
    chat = Chat(faq).choose("new_ticket").choose("immatricolazioni").type(typed)
    assert chat.step == "message" and chat.slots["subtopic"] == "credenziali"
    at_summary(faq).choose("correct").type(typed).expect("name", "ask_name")


def test_a_place_beyond_the_list_the_last_and_a_longer_question(faq: FaqIndex) -> None:
    assert Chat(faq).choose("new_ticket").type("3").step == "topic"
    at_summary(faq).choose("correct").type("l'ultimo").expect("attachment", "ask_attachment")
    chat = Chat(faq).choose("new_ticket").type("la seconda rata quando scade?")
    assert "topic" not in chat.slots and chat.slots["message"] == "la seconda rata quando scade?"


def test_a_wrong_email_said_at_the_name_step_asks_the_email_again(faq: FaqIndex) -> None:
    # "ho sbagliato email" was kept as the student's name
    chat = at_email(faq).type(EMAIL).expect("name", "ask_name")
    chat.type("ho sbagliato l'email").expect("email", "ask_email")
    assert "name" not in chat.slots
    chat.type("luigi.verdi@gmail.com").expect("name", "ask_name")
    assert chat.slots["email"] == "luigi.verdi@gmail.com" and chat.slots["message"] == QUESTION


@pytest.mark.parametrize(
    ("typed", "step"),
    [("cambia il telefono", "phone"), ("il cognome è sbagliato", "name"),
     ("wrong email", "email"), ("cambia argomento", "topic")],
)
def test_a_correction_typed_at_the_summary_asks_that_field(
    faq: FaqIndex, typed: str, step: str
) -> None:
    # the summary answered "use the buttons"
    chat = at_summary(faq).type(typed)
    assert chat.step == step and "keep" in chat.options


def test_the_field_named_at_the_list_of_fields_is_asked(faq: FaqIndex) -> None:
    chat = at_summary(faq).choose("correct").type("telefono").expect("phone", "ask_phone")
    chat.type("347 1234567").expect("summary")
    assert summary_values(chat)["phone"] == "+393471234567"


def test_changing_topic_or_going_back_is_no_request(faq: FaqIndex) -> None:
    # "cambia argomento" and "torna indietro" became the ticket's request
    chat = Chat(faq).choose("new_ticket").choose("immatricolazioni").choose("tasse-pagamenti")
    chat.type("cambia argomento").expect("topic", "ask_topic")
    assert "message" not in chat.slots
    chat.choose("carriera").choose("certificati").type("torna indietro")
    chat.expect("subtopic", T("ask_subtopic", topic="Carriera universitaria"))
    assert "message" not in chat.slots
    # the request that only mentions a field is the request
    chat.choose("certificati").type("devo cambiare il mio indirizzo email")
    assert chat.slots["message"] == "devo cambiare il mio indirizzo email"


def test_a_request_about_an_email_is_the_request_with_the_contacts_already_given(
    faq: FaqIndex,
) -> None:
    # a follow-up (or a second request) starts with the contact data: changing one's email is
    # also what students ask the office about
    chat = Chat(faq, slots={
        "email": EMAIL, "name": "Rossi Mario", "phone": PHONE, "references": "412",
    })
    chat.choose("carriera").choose("certificati")
    chat.type("devo cambiare la mail di Ateneo")
    assert chat.slots["message"] == "devo cambiare la mail di Ateneo"
    assert chat.slots["email"] == EMAIL


def test_a_wrong_email_said_at_the_ticket_number_asks_the_email_again(faq: FaqIndex) -> None:
    # "ho sbagliato email" was refused as a ticket number
    chat = Chat(faq).choose("have_ticket").type(EMAIL)
    chat.type("ho sbagliato email").expect("lookup_email", "ask_lookup_email")
    assert "email" not in chat.slots


def test_going_back_from_the_name_step_keeps_the_email(faq: FaqIndex) -> None:
    chat = at_email(faq).type(EMAIL).type("indietro").expect("email", "ask_email")
    assert chat.slots["email"] == EMAIL


@pytest.mark.parametrize("typed", ["nessuna", "nessun file", "senza allegato"])
def test_no_attachment_in_words(faq: FaqIndex, typed: str) -> None:
    # "nessuna" was answered "use the attachment button"
    chat = at_email(faq).type(EMAIL).type("Rossi Mario").type("333 1234567")
    chat.type(typed).expect("summary")
    assert chat.slots["attachment"] is None


# --- wrong input never breaks the conversation -------------------------------------------------


def test_an_unknown_or_stale_button_is_refused_and_the_step_kept(faq: FaqIndex) -> None:
    chat = at_summary(faq)
    chat.choose("solved").expect("summary", "wrong_choice.unknown")
    chat.choose("carriera").expect("summary", "wrong_choice.unknown")
    chat.choose("lang:fr").expect("summary", "wrong_choice.unknown")
    assert chat.options == ["confirm", "correct"]


def test_text_where_a_button_is_expected(faq: FaqIndex) -> None:
    at_summary(faq).type("boh, vediamo").expect("summary", "wrong_text.use_buttons")


def test_empty_and_too_long_text(faq: FaqIndex) -> None:
    chat = Chat(faq).type("   ").expect("welcome", "wrong_text.empty")
    chat.type("x" * 4001).expect("welcome", "wrong_text.too_long")
    at_email(faq).type("a" * 5000 + "@gmail.com").expect("email", "wrong_text.too_long")


def test_an_unknown_event_kind(faq: FaqIndex) -> None:
    Chat(faq).send(Event("dance")).expect("welcome", "wrong_event.unknown")


def test_a_result_nobody_waits_for_changes_nothing(faq: FaqIndex) -> None:
    chat = at_email(faq)
    before = chat.state
    chat.result("ticket_created", "000412").expect("email")
    assert chat.replies == () and chat.state == before
    chat.result("ticket_found", number="000412", token="x").expect("email")
    assert chat.state == before


def test_a_stored_state_with_an_unknown_step_restarts(faq: FaqIndex) -> None:
    outcome = step(State("ask_matricola", {"x": 1}, "en"), Event("text", "hello"), faq)
    assert outcome.state == State("welcome", {}, "en")
    assert [r.text for r in outcome.replies] == [t("restarted", "en"), t("ask_welcome", "en")]
    assert prompt_for(State("ask_matricola", {}, "it"), faq) == Prompt()


def _reachable_states(faq: FaqIndex) -> list[State]:
    chat = at_summary(faq)
    states = [Chat(faq).state, at_suggestions(faq).state, at_email(faq).state, chat.state]
    states.append(chat.choose("correct").state)
    states.append(chat.choose("edit:attachment").state)
    states.append(Chat(faq).choose("new_ticket").state)
    states.append(Chat(faq).choose("new_ticket").choose("carriera").state)
    states.append(at_summary(faq).choose("confirm").state)
    lookup = Chat(faq).choose("have_ticket")
    states.append(lookup.state)
    states.append(lookup.type(EMAIL).state)
    states.append(lookup.type("412").state)
    states += [State(name, {}, "it") for name in FLOW]  # every step, even with no slots
    return states


@pytest.mark.parametrize(
    "event",
    [
        Event("choose", "nonsense"),
        Event("choose", ""),
        Event("text", ""),
        Event("text", "\x00\x01"),
        Event("text", "🙂" * 4001),
        Event("text", "Rossi Mario"),
        Event("attachment", data={}),
        Event("attachment", data={"id": 3, "size": "big"}),
        Event("ticket_failed", data={"reason": "invalid", "fields": "nonsense"}),
        Event("ticket_failed", data={"reason": "invalid", "fields": {"email": 42}}),
        Event("lookup_failed", data={"reason": "throttled", "retry_after": "soon"}),
        Event("ticket_found", data={}),
        Event("whatever"),
    ],
)
def test_step_never_raises_and_always_leaves_a_way_on(faq: FaqIndex, event: Event) -> None:
    for state in _reachable_states(faq):
        outcome = step(state, event, faq)
        assert isinstance(outcome, Outcome)
        assert outcome.state.step in FLOW
        json.dumps(dict(outcome.state.slots))
        waiting = FLOW[outcome.state.step].waiting
        assert waiting or outcome.prompt.options or outcome.prompt.input, outcome.state


# --- attachments -------------------------------------------------------------------------------


def test_an_attachment_is_received_and_shown_in_the_summary(faq: FaqIndex) -> None:
    chat = at_email(faq).type(EMAIL).type("Rossi Mario").type("3331234567")
    chat.attach("schermata.png", 512_000)
    chat.expect("summary", T("attachment.received", filename="schermata.png"))
    assert summary_values(chat)["attachment"] == "schermata.png"
    chat.choose("confirm")
    assert chat.effects("create_ticket")[0]["attachment_id"] == "a1b2"


def test_attachment_errors(faq: FaqIndex) -> None:
    chat = at_email(faq).type(EMAIL).type("Rossi Mario").type("3331234567")
    chat.attach(size=2 * 1024 * 1024 + 1).expect("attachment", "wrong_attachment.too_large")
    chat.send(Event("attachment", data={"filename": "x.pdf"}))
    chat.expect("attachment", "wrong_attachment.invalid")
    chat.type("ecco il file").expect("attachment", "wrong_attachment.text")
    chat.type("no grazie").expect("summary")
    assert chat.slots["attachment"] is None


def test_an_attachment_sent_early_joins_the_request_and_skips_its_question(
    faq: FaqIndex,
) -> None:
    chat = at_email(faq).attach("ricevuta.pdf", 1000)
    chat.expect("email", T("attachment.received", filename="ricevuta.pdf"))
    chat.type(EMAIL).type("Rossi Mario").type("3331234567").expect("summary")


def test_an_attachment_is_not_taken_while_looking_up_a_ticket(faq: FaqIndex) -> None:
    Chat(faq).choose("have_ticket").attach().expect("lookup_email", "wrong_attachment.not_now")


# --- correcting from the summary ---------------------------------------------------------------


def test_correcting_a_field_comes_back_to_the_summary(faq: FaqIndex) -> None:
    chat = at_summary(faq).choose("correct").expect("correct", "ask_correct")
    assert chat.options == [
        "edit:email", "edit:name", "edit:phone", "edit:topic", "edit:subtopic", "edit:message",
        "edit:attachment", "back_to_summary",
    ]
    assert chat.labels[:3] == ["Email personale", "Cognome e nome", "Cellulare"]
    chat.choose("edit:phone").expect("phone", "ask_phone")
    assert chat.labels == ["Lascia com'è"]
    chat.type("06 1234 5678").expect("phone", "wrong_phone.not_mobile")
    chat.type("+39 347 765 4321").expect("summary")
    assert summary_values(chat)["phone"] == "+393477654321"


def test_keeping_a_value_and_going_back_to_the_summary(faq: FaqIndex) -> None:
    chat = at_summary(faq).choose("correct").choose("edit:name").choose("keep")
    chat.expect("summary")
    assert summary_values(chat)["name"] == "Rossi Mario"
    chat.choose("correct").choose("back_to_summary").expect("summary")


def test_correcting_the_topic_asks_the_subtopic_again(faq: FaqIndex) -> None:
    chat = at_summary(faq).choose("correct").choose("edit:topic").expect("topic", "ask_topic")
    assert "keep" in chat.options
    chat.choose("carriera").expect("subtopic", T("ask_subtopic", topic="Carriera universitaria"))
    chat.choose("certificati").expect("summary")
    values = summary_values(chat)
    assert (values["topic"], values["subtopic"]) == ("Carriera universitaria", "Certificati")


def test_correcting_the_message_does_not_search_again(faq: FaqIndex) -> None:
    chat = at_summary(faq).choose("correct").choose("edit:message")
    chat.type(PASSWORD).expect("summary")
    assert chat.effects("faq_event") == []


def test_adding_an_attachment_from_the_summary(faq: FaqIndex) -> None:
    chat = at_summary(faq).choose("correct").choose("edit:attachment")
    assert chat.options == ["skip_attachment", "keep"]
    chat.attach("foto.jpg", 10).expect("summary", T("attachment.received", filename="foto.jpg"))


# --- when creating the ticket fails -----------------------------------------------------------


def test_an_invalid_ticket_asks_again_the_first_invalid_field(faq: FaqIndex) -> None:
    chat = at_summary(faq).choose("confirm")
    chat.result(
        "ticket_failed",
        reason="invalid",
        fields={"phone": "wrong_phone.invalid", "email": "wrong_email.reserved"},
    )
    chat.expect("email", "wrong_email.reserved", "ask_email")
    chat.type("anna.bianchi@libero.it").expect("phone", "ask_phone")
    chat.type("3471234567").expect("summary")
    chat.choose("confirm")
    assert chat.effects("create_ticket")[0]["email"] == "anna.bianchi@libero.it"


def test_an_invalid_topic_from_the_server_asks_topic_and_subtopic(faq: FaqIndex) -> None:
    chat = at_summary(faq).choose("confirm")
    chat.result("ticket_failed", reason="invalid", fields={"topic": "wrong_topic.unknown"})
    chat.expect("topic", "wrong_topic.unknown", "ask_topic")
    chat.choose("carriera").choose("certificati").expect("summary")


def test_an_invalid_field_with_an_unknown_key_gets_a_general_message(faq: FaqIndex) -> None:
    chat = at_summary(faq).choose("confirm")
    chat.result("ticket_failed", reason="invalid", fields={"name": "Name is bad"})
    chat.expect("name", "ticket_failed.invalid", "ask_name")


def test_rate_limited_says_when_to_retry_and_keeps_the_data(faq: FaqIndex) -> None:
    chat = at_summary(faq).choose("confirm")
    chat.result("ticket_failed", reason="rate_limited", retry_after=90)
    chat.expect("summary", T("ticket_failed.rate_limited", minutes=2))
    assert chat.options == ["confirm", "correct"]
    chat.choose("confirm").expect("creating_ticket")
    assert chat.effects("create_ticket")[0]["email"] == EMAIL


def test_rate_limited_without_a_time_and_other_failures(faq: FaqIndex) -> None:
    chat = at_summary(faq).choose("confirm")
    chat.result("ticket_failed", reason="rate_limited")
    chat.expect("summary", "ticket_failed.rate_limited_later")
    chat.choose("confirm").result("ticket_failed", reason="invalid", fields={})
    chat.expect("summary", "ticket_failed.error")
    chat.choose("confirm").result("ticket_failed", reason="storage")
    chat.expect("summary", "ticket_failed.error")


def test_confirming_a_summary_whose_topic_has_disappeared(faq: FaqIndex) -> None:
    chat = at_summary(faq)
    stale = State("summary", {**chat.slots, "topic": "vecchio-argomento"}, "it")
    outcome = step(stale, Event("choose", "confirm"), faq)
    assert outcome.state.step == "topic"
    assert [r.text for r in outcome.replies] == [
        t("ticket_failed.invalid", "it"), t("ask_topic", "it")
    ]
    assert outcome.effects == ()


# --- "Ho già un ticket" ----------------------------------------------------------------------


def test_have_ticket_found(faq: FaqIndex) -> None:
    chat = Chat(faq).choose("have_ticket").expect("lookup_email", "ask_lookup_email")
    assert chat.prompt.input == "email"
    chat.type("mario.rossi").expect("lookup_email", "wrong_email.no_at")
    chat.type(EMAIL).expect("lookup_number", T("ask_lookup_number", email=EMAIL))
    assert chat.labels == ["Cambia email", "Indietro"]
    assert chat.prompt.placeholder == "000412"
    chat.type("41a").expect("lookup_number", "wrong_number.format")
    chat.type(" #412 ").expect("looking_up")
    assert chat.effects("lookup_ticket") == [{"email": EMAIL, "number": "000412"}]
    chat.type("allora?").expect("looking_up", "wait")

    chat.result("ticket_found", number="000412", token="tok-123").expect("done")
    assert chat.kinds == ["ticket_view"]
    assert chat.replies[0].data == {"number": "000412", "token": "tok-123"}
    assert chat.replies[0].text == t("lookup.found", "it", number="000412")
    assert "token" not in json.dumps(dict(chat.slots))


def test_have_ticket_not_found_asks_the_number_again_or_another_email(faq: FaqIndex) -> None:
    chat = Chat(faq).choose("have_ticket").type(EMAIL).type("000413")
    chat.result("lookup_failed", reason="not_found")
    chat.expect("lookup_number", "lookup_failed.not_found")
    assert chat.options == ["change_email", "back"]
    chat.type("000412").expect("looking_up")
    assert chat.effects("lookup_ticket") == [{"email": EMAIL, "number": "000412"}]
    chat.result("lookup_failed", reason="not_found")
    chat.choose("change_email").expect("lookup_email", "ask_lookup_email")
    chat.type("anna@libero.it").type("412")
    assert chat.effects("lookup_ticket") == [{"email": "anna@libero.it", "number": "000412"}]


def test_a_status_check_started_by_mistake_goes_back_to_the_welcome(faq: FaqIndex) -> None:
    chat = Chat(faq).choose("have_ticket").expect("lookup_email", "ask_lookup_email")
    assert chat.labels == ["Indietro"]
    chat.choose("back").expect("welcome", "ask_welcome")
    chat.choose("have_ticket").type(EMAIL).type("indietro").expect("welcome", "ask_welcome")
    assert "number" not in chat.slots
    chat.choose("new_ticket").expect("topic", "new_ticket.intro", "ask_topic")


def test_have_ticket_throttled_says_when_to_retry(faq: FaqIndex) -> None:
    chat = Chat(faq).choose("have_ticket").type(EMAIL).type("000413")
    chat.result("lookup_failed", reason="throttled", retry_after=600)
    chat.expect("done", T("lookup_failed.throttled", minutes=10))


@pytest.mark.parametrize(
    "typed", ["Ho già un ticket", "ho già aperto un ticket", "stato del ticket"]
)
def test_have_ticket_can_be_typed(faq: FaqIndex, typed: str) -> None:
    Chat(faq).type(typed).expect("lookup_email", "ask_lookup_email")


@pytest.mark.parametrize(
    "typed",
    [
        "#000412", "000412", "#412", "412", "ticket 000412", "ticket n. 412",
        "il mio ticket è 000412", "numero 412",
    ],
)
def test_a_ticket_number_typed_at_the_welcome_looks_it_up(faq: FaqIndex, typed: str) -> None:
    chat = Chat(faq).type(typed).expect("lookup_email", "ask_lookup_email")
    chat.type(EMAIL).expect("looking_up")
    assert chat.effects("lookup_ticket") == [{"email": EMAIL, "number": "000412"}]


def test_a_number_in_a_question_is_no_ticket_number(faq: FaqIndex) -> None:
    assert Chat(faq).type("ho 17 anni, posso immatricolarmi?").step != "lookup_email"


def test_after_a_ticket_the_status_check_knows_the_email(faq: FaqIndex) -> None:
    chat = at_summary(faq).choose("confirm").result("ticket_created", "000412")
    chat.choose("have_ticket").expect("lookup_number", T("ask_lookup_number", email=EMAIL))


def test_more_words_right_after_a_ticket_are_pointed_at_that_ticket(faq: FaqIndex) -> None:
    """'ho dimenticato di allegare il documento' after the ticket most often belongs to it: the
    student is told where to add it, once, before the FAQ is searched as for any question."""
    chat = at_summary(faq).choose("confirm").result("ticket_created", "000412")
    chat.type("ho dimenticato di allegare la carta d'identità")
    pointer = chat.text(T("ticket.add_to_it", number="000412"))
    assert [r.text for r in chat.replies if r.kind == "text"][0] == pointer
    assert len(chat.replies) > 1  # then it goes on as for any question
    chat.type("quanto costa la prima rata?")
    assert pointer not in [r.text for r in chat.replies]


def test_a_new_ticket_after_a_ticket_is_not_pointed_at_the_first(faq: FaqIndex) -> None:
    chat = at_summary(faq).choose("confirm").result("ticket_created", "000412")
    chat.choose("new_ticket").choose("carriera").choose("certificati")
    assert "opened" not in chat.slots


def test_a_second_ticket_skips_the_contact_data(faq: FaqIndex) -> None:
    chat = at_summary(faq).choose("confirm").result("ticket_created", "000412")
    chat.choose("new_ticket").choose("carriera").choose("certificati")
    chat.type(NO_MATCH).expect("attachment", "no_match", "ask_attachment")


# --- English -----------------------------------------------------------------------------------


def test_the_whole_path_in_english(faq: FaqIndex) -> None:
    chat = Chat(faq, "en").expect("welcome", "welcome", "ask_welcome")
    assert chat.replies[0].text.startswith("Hi!")
    chat.type(QUESTION_EN).expect("suggest", "suggest.intro_many", "ask_solved")
    first = [r for r in chat.replies if r.kind == "faq"][0]
    assert first.data["answer"].startswith("You pay the first instalment with pagoPA")
    assert first.data["links"] == [
        {"label": "Fees and contributions", "url": "https://www.unipg.it/didattica/tasse"}
    ]
    assert chat.labels == ["Yes, that solved it", "No, I still need help"]
    chat.type("no").expect("topic", "not_solved", "ask_topic")
    assert chat.labels == ["Enrolment", "Student career"]
    chat.type("enrolment").choose("tasse-pagamenti").expect("email", "ask_email")
    chat.type("mario@gmail.con").expect("email", "wrong_email.typo")
    assert "misspelt" in chat.replies[0].text
    chat.type(EMAIL).type("Rossi Mario").type("+44 7911 123456").choose("skip_attachment")
    assert summary_values(chat)["attachment"] == "none"
    assert summary_values(chat)["topic"] == "Enrolment"
    chat.type("yes").expect("creating_ticket")
    assert chat.effects("create_ticket")[0]["lang"] == "en"
    assert chat.effects("create_ticket")[0]["phone"] == "+447911123456"
    chat.result("ticket_created", "000412")
    chat.expect("done", "ticket.keep_number", T("ticket.next", email=EMAIL))
    assert chat.replies[0].text == "Your ticket has been opened. Number: 000412"


def test_an_faq_without_english_is_shown_in_italian(faq: FaqIndex) -> None:
    chat = Chat(faq, "en").type("How do I download the certificato di iscrizione?")
    first = [r for r in chat.replies if r.kind == "faq"][0]
    assert first.data["answer"].startswith("Il certificato di iscrizione si scarica")
    # the bot's own words stay English
    assert chat.replies[-1].text == t("ask_solved", "en")


# --- follow-up of a closed ticket ------------------------------------------------------------


def test_a_follow_up_skips_the_data_it_already_has_and_shows_it(faq: FaqIndex) -> None:
    chat = Chat(faq, slots={
        "email": "Mario.Rossi@Gmail.com", "name": "Rossi Mario", "phone": "333 1234567",
        "references": "412",
    })
    chat.expect("topic", T("follow_up.intro", references="000412"), "ask_topic")
    chat.choose("carriera").choose("certificati").type(NO_MATCH)
    chat.expect("attachment", "no_match", "ask_attachment")
    chat.choose("skip_attachment").expect("summary")
    values = summary_values(chat)
    assert values["email"] == EMAIL and values["phone"] == PHONE
    assert values["references"] == "000412"
    # the student can still correct what was prefilled
    chat.choose("correct").choose("edit:email").type("anna@libero.it").expect("summary")
    chat.choose("confirm")
    created = chat.effects("create_ticket")[0]
    assert created["references"] == "000412"
    assert created["email"] == "anna@libero.it"


def test_a_follow_up_asks_again_what_is_not_valid(faq: FaqIndex) -> None:
    chat = Chat(faq, slots={
        "email": EMAIL, "name": "Rossi", "phone": "075 585 2000", "references": "000412",
        "topic": "immatricolazioni",  # only contact data and the reference are taken
    })
    assert "topic" not in chat.slots
    chat.choose("carriera").choose("certificati").type(NO_MATCH)
    chat.expect("name", "no_match", "ask_name")
    chat.type("Rossi Mario").expect("phone", "ask_phone")


def test_prefilled_contacts_without_a_reference_start_at_the_welcome(faq: FaqIndex) -> None:
    chat = Chat(faq, slots={"email": EMAIL}).expect("welcome", "welcome", "ask_welcome")
    chat.choose("new_ticket").choose("carriera").choose("certificati").type(NO_MATCH)
    chat.expect("name", "no_match", "ask_name")


# --- resuming ----------------------------------------------------------------------------------


def test_prompt_for_shows_the_same_prompt_when_resuming(faq: FaqIndex) -> None:
    for state in _reachable_states(faq):
        stored = json.loads(json.dumps({"step": state.step, "slots": dict(state.slots),
                                        "lang": state.lang}))
        assert prompt_for(State(**stored), faq) == prompt_for(state, faq)
    assert prompt_for(at_summary(faq).state, faq).options[0].label == "Invia la richiesta"


@pytest.mark.parametrize(
    ("lang", "typed", "wanted"),
    [
        ("it", "in english please", "en"),
        ("it", "Do you speak English?", "en"),
        ("it", "parli inglese?", "en"),
        ("en", "possiamo parlare in italiano?", "it"),
        ("en", "Italian please", "it"),
    ],
)
def test_asking_for_the_other_language_in_words_switches_it(
    faq: FaqIndex, lang: str, typed: str, wanted: str
) -> None:
    chat = Chat(faq, lang).type(typed)
    assert chat.state.lang == wanted
    assert chat.step == "welcome"


@pytest.mark.parametrize("typed", ["certificato di inglese", "il test di inglese è obbligatorio?"])
def test_a_question_about_a_language_is_no_switch(faq: FaqIndex, typed: str) -> None:
    assert Chat(faq).type(typed).state.lang == "it"
