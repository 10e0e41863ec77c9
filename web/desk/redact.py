"""Personal details taken out of text that is kept apart from the ticket they belong to: the
questions typed to the assistant, which the FAQ report reads long after the chat is deleted (the
privacy notice promises them without contact details, tax code or IBAN), and the log lines."""

from __future__ import annotations

import re

# A domain ends in letters, and what follows a "/" is no mailbox: the database's URL
# ("postgresql://helpdesk@db.unipg.it/...") is not one. An apostrophe belongs to the address
# ("giulia.d'angelo@..."), so a quoted one loses its opening quote with it.
# Bounded as a mailbox is (64 signs before the @) and to 8 dotted labels: unbounded, every sign
# of a 4000-sign run of them started a scan to its end, and an erasure reads every recent chat.
EMAIL = re.compile(r"(?<![\w.+/-])[\w.!#$%&'*+=?^{|}~-]{1,64}@(?:[\w-]+\.){1,8}[^\W\d_]{2,}")
# A phone number as students write one: 9 to 13 digits, a +, spaces, dots or dashes between
# them ("+39 333 123 4567", "075.585.2192"). Fewer digits are a student number (6), a date or an
# academic year ("2024-2025": 8).
PHONE = re.compile(r"(?<![\w+])\+?\d(?:[ .-]?\d){8,12}(?!\w)")
# Students type them unasked, to be recognised or refunded ("il mio cf è RSSMRA...", "rimborso
# su IT60 X054 ..."). A codice fiscale: six letters, then digits that a clash of codes may turn
# into letters (omocodia: L-V stand for 0-9), the month's letter, the check letter.
CODICE_FISCALE = re.compile(
    r"(?<![^\W_])[a-z]{6}[\dlmnp-v]{2}[abcdehlmprst][\dlmnp-v]{2}[a-z][\dlmnp-v]{3}[a-z](?![^\W_])",
    re.IGNORECASE,
)
# An IBAN: country, two check digits, then groups of four letters or digits, spaced or not,
# the last one shorter (IT60 X054 2811 1010 0000 0123 456): never a word after it. At least
# three groups: with two, a degree code before an academic year ("LM56 2024 2025") is one.
IBAN = re.compile(
    r"(?<![^\W_])[a-z]{2}\d{2}(?: ?[a-z\d]{4}){3,7}(?: ?[a-z\d]{1,3})?(?![^\W_])", re.IGNORECASE
)
HIDDEN_EMAIL = "<email>"
HIDDEN_PHONE = "<tel>"
HIDDEN_CODICE_FISCALE = "<cf>"
HIDDEN_IBAN = "<iban>"


def without_emails(text: str) -> str:
    return EMAIL.sub(HIDDEN_EMAIL, text)


def without_contacts(text: str) -> str:
    """The text with its emails, phone numbers, tax codes and IBANs replaced by a mark that says
    one was there."""
    text = IBAN.sub(HIDDEN_IBAN, without_emails(text))  # before its digits read as a phone
    return PHONE.sub(HIDDEN_PHONE, CODICE_FISCALE.sub(HIDDEN_CODICE_FISCALE, text))
