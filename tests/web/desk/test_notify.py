"""What each notification says: composed from the templates, in the student's language."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storage import Attachment, Message, OutboxMail, Ticket
from web.desk import notify

PUBLIC_URL = "https://helpdesk.unipg.test/"
LINK = "https://helpdesk.unipg.test/ticket?number=000412"
NAME = "Rossi <script>alert(1)</script> Mario"

NOTICE = {"it": "Non rispondere a questa email", "en": "Do not reply to this email"}
SUBJECTS = {
    ("it", "opened"): "[Ticket 000412] Richiesta ricevuta",
    ("it", "reply"): "[Ticket 000412] Nuova risposta dall'assistenza",
    ("it", "awaiting_user"): "[Ticket 000412] Ci servono altre informazioni",
    ("it", "closed"): "[Ticket 000412] Ticket chiuso",
    ("it", "duplicate"): "[Ticket 000412] Ticket chiuso: segui il ticket 000409",
    ("en", "opened"): "[Ticket 000412] Request received",
    ("en", "reply"): "[Ticket 000412] New reply from the help desk",
    ("en", "awaiting_user"): "[Ticket 000412] We need more information from you",
    ("en", "closed"): "[Ticket 000412] Ticket closed",
    ("en", "duplicate"): "[Ticket 000412] Ticket closed: follow ticket 000409",
    ("it", "unanswered"): "[Ticket 000412] Ticket chiuso: non abbiamo ricevuto una tua risposta",
    ("en", "unanswered"): "[Ticket 000412] Ticket closed: no answer from you",
    ("it", "contact"): "[Ticket 000412] Il tuo indirizzo email è stato aggiornato",
    ("en", "contact"): "[Ticket 000412] Your email address has been updated",
}
# What each kind must tell the student, beyond the number and the link.
SAYS = {
    ("it", "opened"): ["Conserva questo numero, compresi gli zeri (0)", "Riepilogo", "Aperto",
                       "Se non hai inviato tu questa richiesta"],
    ("it", "reply"): ["Anna Bianchi ha risposto", "Carica la ricevuta"],
    ("it", "awaiting_user"): ["l'operatore ha bisogno di ulteriori informazioni",
                              "In attesa di risposta utente"],
    ("it", "closed"): ["è stato chiuso", "Chiuso"],
    ("it", "duplicate"): ["è già nel tuo ticket", "000409", "ora è", "Chiuso", "number=000409"],
    ("it", "unanswered"): ["attendeva una tua risposta da più di", "14 giorni", "Chiuso",
                             "un nuovo ticket"],
    ("en", "unanswered"): ["waiting for an answer from you", "for more than 14 days", "Closed",
                           "a new ticket"],
    ("en", "opened"): ["Keep this number, including the zeros (0)", "Summary", "Open",
                       "If you did not send this request"],
    ("en", "reply"): ["Anna Bianchi has replied", "Carica la ricevuta"],
    ("en", "awaiting_user"): ["The operator needs more information", "Awaiting your reply"],
    ("en", "closed"): ["has been closed", "Closed"],
    ("en", "duplicate"): ["is already in your ticket", "000409", "is now", "Closed",
                          "number=000409"],
    ("it", "contact"): ["ha corretto l'indirizzo email del ticket", "con questa email e il numero",
                        "qualcuno ha indicato il tuo indirizzo per errore"],
    ("en", "contact"): ["has corrected the email address of ticket",
                        "with this email and the number", "someone gave your address by mistake"],
}


def make_ticket(lang: str = "it", status: str = "open") -> Ticket:
    ticket = Ticket(
        number="000412",
        email="mario.rossi@example.org",
        name=NAME,
        phone="+393331234567",
        topic="immatricolazioni",
        subtopic="tasse-pagamenti",
        lang=lang,
        status=status,  # type: ignore[arg-type]
    )
    ticket.messages.append(
        Message(id="m1", author="student", name=NAME,
                body="Non riesco a pagare la prima rata.")
    )
    return ticket


def reply() -> Message:
    return Message(id="m2", author="operator", name="Anna Bianchi", username="abianchi",
                   body="Carica la ricevuta qui.\n<b>Grazie</b>")


def compose(kind: str, lang: str) -> OutboxMail:
    ticket = make_ticket(lang, status=kind if kind in ("awaiting_user", "closed") else "open")
    if kind == "duplicate":
        # the student's second ticket on the same request, closed: 000409 goes on
        ticket.status, ticket.duplicate_of = "closed", "000409"
    if kind == "unanswered":
        ticket.status = "closed"  # by the system, after 14 days awaiting the student
    return notify.compose(kind, ticket, public_url=PUBLIC_URL,
                          message=reply() if kind == "reply" else None,
                          waited_days=14 if kind == "unanswered" else None)


@pytest.mark.parametrize("lang", ["it", "en"])
@pytest.mark.parametrize("kind", notify.KINDS)
def test_each_mail_has_the_number_the_link_and_the_notice_first(kind: str, lang: str) -> None:
    mail = compose(kind, lang)
    assert mail.kind == kind
    assert mail.to == "mario.rossi@example.org"
    assert mail.subject == SUBJECTS[lang, kind]
    assert mail.state == "queued" and mail.attempts == 0
    # the page opens in the mail's language
    in_text, in_html = (LINK + "&lang=en", LINK + "&amp;lang=en") if lang == "en" else (LINK, LINK)
    assert in_text in mail.text and in_html in mail.html
    assert (lang == "en") == ("lang=en" in mail.text.replace("/privacy?lang=en", ""))
    for body in (mail.text, mail.html):
        assert "000412" in body
        for words in SAYS[lang, kind]:
            assert words in body
    # The notice comes before anything else the mail says.
    assert mail.text.lstrip().startswith(f"*** {NOTICE[lang]}")
    assert mail.html.index(NOTICE[lang]) < mail.html.index("<p>")
    assert f'<html lang="{lang}">' in mail.html


@pytest.mark.parametrize("lang", ["it", "en"])
@pytest.mark.parametrize("kind", notify.KINDS)
def test_only_an_open_ticket_s_mail_asks_for_a_reply(kind: str, lang: str) -> None:
    """A closed ticket takes no message: its mail invites a new ticket, not a reply."""
    mail = compose(kind, lang)
    asks = ("rispondi", "scrivere all'operatore", "reply", "write to the operator")
    for body in (mail.text, mail.html.replace("&#39;", "'")):
        told = [words for words in asks if words in body.lower().replace("do not reply", "")
                .replace("non rispondere", "").replace("replies are not read", "")]
        assert bool(told) == (kind not in ("closed", "duplicate", "unanswered")), (kind, told)


@pytest.mark.parametrize("kind", notify.KINDS)
def test_the_email_is_never_in_the_link_nor_the_body(kind: str) -> None:
    # The student types it at /ticket: a forwarded mail must not hand over both credentials.
    mail = compose(kind, "it")
    for body in (mail.text, mail.html):
        assert "example.org" not in body


def test_html_escapes_what_students_and_operators_wrote() -> None:
    opened, answered = compose("opened", "it"), compose("reply", "it")
    # The first mail repeats nothing typed with the address, not even the name.
    assert "script" not in opened.html and "Rossi" not in opened.text
    for mail in (answered,):
        assert "<script>" not in mail.html
        assert "Rossi &lt;script&gt;alert(1)&lt;/script&gt; Mario" in mail.html
        # The plain-text part is not HTML: it shows what was typed, as typed.
        assert NAME in mail.text
    assert "<b>Grazie</b>" not in answered.html
    # Line breaks survive in HTML as <br>, the only markup added to a message.
    assert "Carica la ricevuta qui.<br>\n&lt;b&gt;Grazie&lt;/b&gt;" in answered.html


def test_an_internal_note_is_never_mailed() -> None:
    ticket = make_ticket()
    note = Message(id="n1", author="operator", name="Anna Bianchi", body="student seems confused",
                   internal=True)
    notify.queue(ticket, "reply", public_url=PUBLIC_URL, message=note)
    assert ticket.outbox == []
    with pytest.raises(ValueError, match="internal"):
        notify.compose("reply", ticket, public_url=PUBLIC_URL, message=note)


def test_queue_appends_to_the_ticket_outbox() -> None:
    ticket = make_ticket()
    notify.queue(ticket, "opened", public_url=PUBLIC_URL)
    notify.queue(ticket, "reply", public_url=PUBLIC_URL, message=reply())
    assert [m.kind for m in ticket.outbox] == ["opened", "reply"]
    assert len({m.id for m in ticket.outbox}) == 2


def test_the_status_announced_is_the_kind_even_if_queued_before_the_change() -> None:
    ticket = make_ticket(status="open")
    mail = notify.compose("closed", ticket, public_url=PUBLIC_URL)
    assert "Chiuso" in mail.text and "Aperto" not in mail.text


def test_topic_label_replaces_the_ids() -> None:
    ticket = make_ticket()
    plain = notify.compose("opened", ticket, public_url=PUBLIC_URL)
    assert "immatricolazioni / tasse-pagamenti" in plain.text
    labelled = notify.compose("opened", ticket, public_url=PUBLIC_URL,
                              topic_label="Immatricolazioni – Tasse, ISEE, pagoPA ed esoneri")
    assert "Argomento: Immatricolazioni – Tasse, ISEE, pagoPA ed esoneri" in labelled.text


@pytest.mark.parametrize("lang", ["it", "en"])
def test_the_first_mail_does_not_carry_what_was_typed_with_the_address(lang: str) -> None:
    """Anyone may open a ticket with anyone's email: quoting the request would send their
    text and links from the university's sender to that mailbox."""
    ticket = make_ticket(lang)
    ticket.messages[0].body = "URGENTE: verifica le credenziali su https://unipg-login.evil"
    mail = notify.compose("opened", ticket, public_url=PUBLIC_URL)
    for body in (mail.text, mail.html):
        assert "evil" not in body and "URGENTE" not in body


@pytest.mark.parametrize("lang", ["it", "en"])
@pytest.mark.parametrize("kind", notify.KINDS)
def test_the_link_after_the_notice_has_a_line_of_its_own(kind: str, lang: str) -> None:
    """A link glued to the sentence before it ("000412:https://...") is not a link in every
    mail reader, and reads as one word."""
    lines = compose(kind, lang).text.splitlines()
    link = next(line for line in lines if "/ticket?" in line)
    assert link.startswith("https://") and not link.endswith(":")
    assert lines[lines.index(link) - 1].endswith("000412:")


def test_an_unknown_language_falls_back_to_italian() -> None:
    mail = notify.compose("opened", make_ticket(lang="de"), public_url=PUBLIC_URL)
    assert mail.subject == "[Ticket 000412] Richiesta ricevuta"


def test_wrong_calls_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown mail kind"):
        notify.compose("deleted", make_ticket(), public_url=PUBLIC_URL)
    with pytest.raises(ValueError, match="needs the operator's message"):
        notify.compose("reply", make_ticket(), public_url=PUBLIC_URL)


@pytest.mark.parametrize(
    ("lang", "said"), [("it", "Allegato alla risposta:"), ("en", "Attached to the reply:")]
)
def test_a_reply_mail_names_the_file_that_came_with_it(lang: str, said: str) -> None:
    # The file stays on the ticket's page (a mail carries no attachment nobody asked for):
    # the mail only says it is there, even when the file is the whole reply.
    message = reply()
    message.body = ""
    message.attachments = [
        Attachment(id="a" * 32, filename="modulo <1>.pdf", size=51, content_type="application/pdf")
    ]
    mail = notify.compose("reply", make_ticket(lang), public_url=PUBLIC_URL, message=message)
    assert f"{said} modulo <1>.pdf" in mail.text
    assert f"{said} <strong>modulo &lt;1&gt;.pdf</strong>" in mail.html
    assert "<blockquote" not in mail.html  # no empty quote for a reply without text
    # and a reply without a file says nothing of one
    plain = compose("reply", lang)
    assert "Allegato" not in plain.text and "Attached" not in plain.text


@pytest.mark.parametrize("kind", ["awaiting_user", "closed"])
def test_a_status_mail_sent_with_a_reply_quotes_it_escaped(kind: str) -> None:
    # One mail for "Invia e chiedi informazioni" / "Invia e chiudi": the status's, with the
    # reply in it, as safely as the reply mail quotes it.
    message = reply()
    message.attachments = [
        Attachment(id="a" * 32, filename="modulo <1>.pdf", size=51, content_type="application/pdf")
    ]
    mail = notify.compose(kind, make_ticket(), public_url=PUBLIC_URL, message=message)
    assert "Anna Bianchi ti ha scritto:" in mail.text
    assert "    Carica la ricevuta qui." in mail.text
    assert "Allegato alla risposta: modulo <1>.pdf" in mail.text
    assert "Carica la ricevuta qui.<br>\n&lt;b&gt;Grazie&lt;/b&gt;" in mail.html
    assert "<strong>modulo &lt;1&gt;.pdf</strong>" in mail.html
    # and without a reply, none of it
    alone = notify.compose(kind, make_ticket(), public_url=PUBLIC_URL)
    assert "ti ha scritto" not in alone.text and "<blockquote" not in alone.html


@pytest.mark.parametrize(("lang", "says"), [("it", "da più di un giorno"),
                                            ("en", "for more than a day,")])
def test_a_ticket_closed_after_a_day_unanswered_says_one_day(lang: str, says: str) -> None:
    ticket = make_ticket(lang, status="closed")
    mail = notify.compose("unanswered", ticket, public_url=PUBLIC_URL, waited_days=1)
    assert says in mail.html


@pytest.mark.parametrize(("lang", "says"), [
    ("it", "L'ufficio ora è chiuso e riapre mercoledì 9 dicembre alle 9:00 (ora italiana)"),
    ("en", "The office is closed now and reopens on Wednesday 9 December at 9:00 (Italian time)"),
])
def test_a_ticket_opened_while_the_office_is_closed_says_when_it_reopens(
    lang: str, says: str
) -> None:
    reopens = datetime(2026, 12, 9, 8, 0, tzinfo=UTC)  # 9:00 in Perugia
    mail = notify.compose("opened", make_ticket(lang), public_url=PUBLIC_URL, reopens=reopens)
    assert says in mail.text
    # its own paragraph, as in the html, not run on after the one before
    assert f"\n\n{says[:20]}" in mail.text
    strong = says.replace("riapre ", "riapre <strong>").replace("reopens ", "reopens <strong>")
    assert strong.replace(" (", "</strong> (", 1) in mail.html.replace("&#39;", "'")
    plain = notify.compose("opened", make_ticket(lang), public_url=PUBLIC_URL)
    assert "riapre" not in plain.text and "reopens" not in plain.text
