"""The notification mails students receive: what they say, composed from templates, no I/O
beyond reading the templates.

Notifications only tell the student that something happened; the conversation itself lives in
the help desk. So every mail says at the top not to reply and gives the link to /ticket (the
student types email and number there: neither is put in the link, which mail scanners and
forwarded messages would otherwise spread).

`queue` is meant to run inside a `storage.tickets.update(number, change)` (or `create`)
callback: the event and the mail announcing it are then written in one atomic step.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from pathlib import Path
from typing import Final, Literal, get_args
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from storage import Message, OutboxMail, Ticket
from web.desk.office_hours import OFFICE_TZ

MailKind = Literal[
    "opened", "reply", "awaiting_user", "closed", "duplicate", "unanswered", "contact"
]
KINDS: Final[tuple[MailKind, ...]] = get_args(MailKind)
LANGS: Final = ("it", "en")  # Italian first: any other language falls back to it

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


def _nl2br(text: str) -> Markup:
    """Line breaks of a plain-text body kept in HTML, everything else escaped."""
    return Markup("<br>\n").join(escape(line) for line in text.splitlines())


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        # Autoescape on for .html: names and messages come from students and operators
        # (a raw Environment defaults to off; see research/reliability-security.md §5).
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["nl2br"] = _nl2br
    return env


_env = _environment()


def ticket_link(public_url: str, number: str, lang: str) -> str:
    """The ticket page in the student's language (an English mail must not open Italian)."""
    query = {"number": number, **({"lang": "en"} if lang == "en" else {})}
    return f"{public_url.rstrip('/')}/ticket?{urlencode(query)}"


def rating_link(public_url: str, number: str, lang: str) -> str:
    """The ticket page, opened at the rating once the student has looked the ticket up."""
    return ticket_link(public_url, number, lang) + "#rating"


def privacy_link(public_url: str, lang: str) -> str:
    return f"{public_url.rstrip('/')}/privacy" + ("?lang=en" if lang == "en" else "")


def _one_line(text: str) -> str:
    # A header is one line: a template's line breaks must not become a folded (or injected)
    # header.
    return re.sub(r"\s+", " ", text).strip()


def compose(
    kind: str,
    ticket: Ticket,
    *,
    public_url: str,
    message: Message | None = None,
    topic_label: str | None = None,
    waited_days: int | None = None,
    close_days: int | None = None,
    reopens: datetime | None = None,
) -> OutboxMail:
    """The mail announcing `kind` for this ticket, in the student's language.

    message: the operator's reply (required for "reply"; never an internal note).
    topic_label: "Topic – Subtopic" as the student saw them; the ids are shown otherwise.
    close_days: HELPDESK_AWAITING_CLOSE_DAYS when set: a mail that leaves the ticket awaiting
    the student says how long it will wait (unanswered.py).
    reopens: when the office reopens, if it was closed as the ticket came (office_hours.py).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown mail kind {kind!r}")
    if kind == "reply" and message is None:
        raise ValueError("a reply mail needs the operator's message")
    if message is not None and message.internal:
        # An internal note is for operators only: it never leaves the console.
        raise ValueError("an internal note is never mailed to the student")
    lang = ticket.lang if ticket.lang in LANGS else LANGS[0]
    context = {
        "kind": kind,
        "lang": lang,
        "number": ticket.number,
        "name": ticket.name,
        # The status the mail announces, even if the caller queues it before setting it.
        "status": {"duplicate": "closed", "unanswered": "closed"}.get(kind, kind)
        if kind in ("awaiting_user", "closed", "duplicate", "unanswered")
        else ticket.status,
        # how long an "unanswered" ticket waited for the student before it was closed
        "waited_days": waited_days,
        "close_days": close_days,
        "reopens": None if reopens is None else reopening(reopens, lang),
        "duplicate_of": ticket.duplicate_of,
        # the closed ticket a follow-up goes on from, which its student chose to link
        "references": ticket.references,
        # the ticket a duplicate's student is to follow now
        "follow_link": (
            ticket_link(public_url, ticket.duplicate_of, lang) if ticket.duplicate_of else None
        ),
        "topic": topic_label or f"{ticket.topic} / {ticket.subtopic}",
        # Not the request, and the first mail greets no name: whoever typed this address
        # decides what they say, and a mail that repeated them would carry anyone's words and
        # links ("Accedi subito a unipg-verifica.com" is a valid name) from the university's
        # sender to that mailbox.
        "link": ticket_link(public_url, ticket.number, lang),
        "rating_link": rating_link(public_url, ticket.number, lang),
        "privacy": privacy_link(public_url, lang),
        "message": message,
    }
    subject = _one_line(_env.get_template("mail/subject.txt").render(context))
    context["subject"] = subject
    return OutboxMail(
        id=secrets.token_hex(8),
        to=ticket.email,
        subject=subject,
        text=_env.get_template(f"mail/{kind}.txt").render(context),
        html=_env.get_template(f"mail/{kind}.html").render(context),
        kind=kind,
    )


def queue(
    ticket: Ticket,
    kind: str,
    *,
    public_url: str,
    message: Message | None = None,
    topic_label: str | None = None,
    waited_days: int | None = None,
    close_days: int | None = None,
    reopens: datetime | None = None,
) -> None:
    """Add the mail announcing `kind` to the ticket's outbox. Call it inside the
    `tickets.update` (or `create`) callback that records the event, then wake the worker.
    An internal note queues nothing."""
    if message is not None and message.internal:
        return
    ticket.outbox.append(
        compose(
            kind,
            ticket,
            public_url=public_url,
            message=message,
            topic_label=topic_label,
            waited_days=waited_days,
            close_days=close_days,
            reopens=reopens,
        )
    )


WEEKDAYS = {
    "it": ("lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
MONTHS = {
    "it": ("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto",
           "settembre", "ottobre", "novembre", "dicembre"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}


def reopening(moment: datetime, lang: str) -> str:
    """"lunedì 8 dicembre alle 9:00", "on Monday 8 December at 9:00": on Perugia's clock, which
    the mail names, as its reader may be anywhere."""
    local = moment.astimezone(OFFICE_TZ)
    day = f"{WEEKDAYS[lang][local.weekday()]} {local.day} {MONTHS[lang][local.month - 1]}"
    time = f"{local.hour}:{local.minute:02d}"
    return f"on {day} at {time}" if lang == "en" else f"{day} alle {time}"
