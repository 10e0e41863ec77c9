"""What the FAQ report and the logs keep of a question: never a way to tell who asked."""

from __future__ import annotations

import time

import pytest

from web.desk.redact import EMAIL, without_contacts


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("il mio cf è RSSMRA85T10A562S, grazie", "il mio cf è <cf>, grazie"),
        ("codice fiscale rssmra85t10a562s", "codice fiscale <cf>"),
        ("omocodia: RSSMRA85T1LA562S", "omocodia: <cf>"),
        (
            "ho pagato due volte, rimborso su IT60 X054 2811 1010 0000 0123 456 per favore",
            "ho pagato due volte, rimborso su <iban> per favore",
        ),
        ("IBAN IT60X0542811101000000123456.", "IBAN <iban>."),
        ("conto belga BE68 5390 0754 7034", "conto belga <iban>"),
        (
            "cf RSSMRA85T10A562S e cell. +39 333 123 4567",
            "cf <cf> e cell. <tel>",
        ),
    ],
)
def test_a_tax_code_or_an_iban_typed_in_a_question_is_not_kept(typed: str, kept: str) -> None:
    assert without_contacts(typed) == kept


@pytest.mark.parametrize(
    "typed",
    [
        "matricola 312456, anno accademico 2024-2025",
        "ISEE 2025 e corso L-19, ho 20 anni",
        "iscritto alla LM56 2024 2025, corso LM18 anno 2024/2025",
        "PROFESSIONALIZZANTE e MAGISTRALE",
        "seconda rata a.a. 2025/2026",
    ],
)
def test_what_says_nobody_s_identity_is_kept_as_typed(typed: str) -> None:
    assert without_contacts(typed) == typed


def test_a_long_message_of_address_signs_is_read_in_linear_time() -> None:
    """The FAQ events redact every question as it comes, and an erasure reads again every
    ticketless chat of 30 days for the email (web/desk/erasure.py), all on the event loop: a
    message of 4000 signs an address may hold, or a long run of labels after an @, must not
    cost a scan per starting sign. Unbounded, a chat's 150 such messages took seconds."""
    hostile = ["!" * 3999 + "@", "!" * 63 + "@" + "a." * 1960 + "1"] * 75
    started = time.perf_counter()
    for text in hostile:
        EMAIL.findall(text)
        without_contacts(text)
    assert time.perf_counter() - started < 1.5  # bounded: 0.2 s here; unbounded: 4.5 s
