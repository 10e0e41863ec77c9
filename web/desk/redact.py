"""Contact details taken out of text that is kept apart from the ticket they belong to: the
questions typed to the assistant, which the FAQ report reads long after the chat is deleted (the
privacy notice promises them "without your contact details"), and the log lines."""

from __future__ import annotations

import re

# A domain ends in letters, and what follows a "/" is no mailbox: the database's URL
# ("postgresql://helpdesk@db.unipg.it/...") is not one. An apostrophe belongs to the address
# ("giulia.d'angelo@..."), so a quoted one loses its opening quote with it.
EMAIL = re.compile(r"(?<![\w.+/-])[\w.!#$%&'*+=?^{|}~-]+@(?:[\w-]+\.)+[^\W\d_]{2,}")
# A phone number as students write one: 9 to 13 digits, a +, spaces, dots or dashes between
# them ("+39 333 123 4567", "075.585.2192"). Fewer digits are a student number (6), a date or an
# academic year ("2024-2025": 8).
PHONE = re.compile(r"(?<![\w+])\+?\d(?:[ .-]?\d){8,12}(?!\w)")
HIDDEN_EMAIL = "<email>"
HIDDEN_PHONE = "<tel>"


def without_emails(text: str) -> str:
    return EMAIL.sub(HIDDEN_EMAIL, text)


def without_contacts(text: str) -> str:
    """The text with its emails and phone numbers replaced by a mark that says one was there."""
    return PHONE.sub(HIDDEN_PHONE, without_emails(text))
