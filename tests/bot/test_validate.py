"""bot.validate: every value a student may type, and every named error it can give."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.faq import FaqIndex
from bot.i18n import has, t
from bot.validate import (
    Invalid,
    Valid,
    validate_email,
    validate_message,
    validate_name,
    validate_number,
    validate_phone,
    validate_subtopic,
    validate_ticket,
    validate_topic,
)

CORPUS = Path(__file__).parent / "fixtures" / "corpus"


@pytest.fixture(scope="module")
def faq() -> FaqIndex:
    return FaqIndex.from_directory(CORPUS)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("mario.rossi@gmail.com", "mario.rossi@gmail.com"),
        ("  Mario.Rossi@Gmail.COM ", "mario.rossi@gmail.com"),
        # the institutional address is accepted: some students only read that one
        ("M.Rossi@Studenti.UniPG.it", "m.rossi@studenti.unipg.it"),
        ("anna+unipg@libero.it", "anna+unipg@libero.it"),
        ("jürgen@müller.de", "jürgen@müller.de"),
        ("li.wei＠example.cn", "li.wei@example.cn"),  # a full-width keyboard's @
        # and its dots and letters, and the dot of a Chinese keyboard
        ("zhang．wei@163.com", "zhang.wei@163.com"),
        ("ｚｈａｎｇｗｅｉ＠ｑｑ．ｃｏｍ", "zhangwei@qq.com"),
        ("zhangwei@qq。com", "zhangwei@qq.com"),
    ],
)
def test_email_is_accepted_in_lower_case(typed: str, stored: str) -> None:
    assert validate_email(typed) == Valid(stored)


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("", "wrong_email.empty"),
        ("   ", "wrong_email.empty"),
        ("m" * 250 + "@gmail.com", "wrong_email.too_long"),
        ("mario rossi@gmail.com", "wrong_email.spaces"),
        ("mario.rossi.gmail.com", "wrong_email.no_at"),
        ("mario@@gmail.com", "wrong_email.many_at"),
        ("@gmail.com", "wrong_email.no_local"),
        ("mario@", "wrong_email.no_domain"),
        ("mario@gmail", "wrong_email.domain_dot"),
        ("mario@gmail.con", "wrong_email.typo"),
        ("mario@gmail.it", "wrong_email.typo"),
        ("mario@hotmial.com", "wrong_email.typo"),
        ("mario..rossi@gmail.com", "wrong_email.local"),
        (".mario@gmail.com", "wrong_email.local"),
        ("mario(x)@gmail.com", "wrong_email.local"),
        ("mario@gmail..com", "wrong_email.domain"),
        ("mario@-gmail.com", "wrong_email.domain"),
        ("mario@gm_ail.com", "wrong_email.domain"),
        # the help desk's own sender: a ticket would mail itself in a loop
        ("noreply@localhost", "wrong_email.reserved"),
        ("x@helpdesk.localhost", "wrong_email.reserved"),
    ],
)
def test_email_errors_name_the_problem(typed: str, key: str) -> None:
    assert validate_email(typed) == Invalid(key)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("333 1234567", "+393331234567"),
        ("3331234567", "+393331234567"),
        ("+39 333.123-4567", "+393331234567"),
        ("0039 333 1234567", "+393331234567"),
        ("(+39) 333 1234567", "+393331234567"),
        ("+39 (333) 1234567", "+393331234567"),
        ("(333) 123 4567", "+393331234567"),
        ("+44 7911 123456", "+447911123456"),
        # abroad we cannot tell a mobile from a landline everywhere: a valid number will do
        ("+49 30 123456", "+4930123456"),
        ("+1 650 253 0000", "+16502530000"),
        # the digits a phone keyboard types in Arabic, Persian or full-width
        ("+٩٧١ ٥٠ ١٢٣ ٤٥٦٧", "+971501234567"),
        ("+۹۸ ۹۱۲ ۳۴۵ ۶۷۸۹", "+989123456789"),
        ("+８６ １３８ ００１３ ８０００", "+8613800138000"),
    ],
)
def test_phone_is_stored_in_e164(typed: str, stored: str) -> None:
    assert validate_phone(typed) == Valid(stored)


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("", "wrong_phone.empty"),
        ("333-abc", "wrong_phone.characters"),
        ("333+1234567", "wrong_phone.characters"),
        ("++39 333 1234567", "wrong_phone.characters"),
        ("12", "wrong_phone.too_short"),
        ("+39 333 12", "wrong_phone.too_short"),
        ("333 12345678901", "wrong_phone.too_long"),
        # one digit too many: phonenumbers reads a voicemail access number, not a service
        ("+39 333 12345678", "wrong_phone.too_long"),
        ("+999 1234567", "wrong_phone.country"),
        ("1234567890", "wrong_phone.invalid"),
        ("075 585 2000", "wrong_phone.not_mobile"),
        ("+39 06 1234 5678", "wrong_phone.not_mobile"),
        ("800 123 456", "wrong_phone.service"),
    ],
)
def test_phone_errors_name_the_problem(typed: str, key: str) -> None:
    assert validate_phone(typed) == Invalid(key)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Rossi Mario", "Rossi Mario"),
        ("  rossi    mario  ", "rossi mario"),
        ("D’Angelo Maria", "D'Angelo Maria"),
        ("De Luca-Bianchi Anna M.", "De Luca-Bianchi Anna M."),
        ("Nguyễn Văn An", "Nguyễn Văn An"),
        ("Ελένη Παπαδοπούλου", "Ελένη Παπαδοπούλου"),
        ("Rossi\tMario", "Rossi Mario"),
        # surname and name written together, as Chinese, Japanese and Korean names are
        ("王伟", "王伟"),
        ("김민준", "김민준"),
        ("رضایی فاطمه\u200cزهرا", "رضایی فاطمه\u200cزهرا"),  # a Persian zero-width joiner
        ("Sánchez, José", "Sánchez José"),
        # the middle dot between the parts of a Uyghur name in Chinese, of a katakana name
        ("迪丽热巴·迪力木拉提", "迪丽热巴·迪力木拉提"),
        ("スミス・ジョン", "スミス・ジョン"),
        ("Col·lell Núria", "Col·lell Núria"),
    ],
)
def test_name_accepts_letters_of_any_script(typed: str, stored: str) -> None:
    assert validate_name(typed) == Valid(stored)


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("", "wrong_name.empty"),
        ("mario.rossi@gmail.com", "wrong_name.email"),
        ("Rossi Mario 2", "wrong_name.digits"),
        ("Rossi_Mario Luigi", "wrong_name.characters"),
        ("Rossi <b>Mario</b>", "wrong_name.characters"),
        ("R", "wrong_name.too_short"),
        ("Rossi " + "a" * 100, "wrong_name.too_long"),
        ("Rossi", "wrong_name.one_word"),
        ("Rossi - .", "wrong_name.one_word"),
    ],
)
def test_name_errors_name_the_problem(typed: str, key: str) -> None:
    assert validate_name(typed) == Invalid(key)


@pytest.mark.parametrize("lang", ["it", "en"])
def test_a_student_with_one_name_only_is_told_how_to_go_on(lang: str) -> None:
    """Many Indonesian and some Indian students have a single name: refused as one word, the
    message must say what to type, and that must pass."""
    advice = {"it": "scrivilo due volte", "en": "write it twice"}[lang]
    assert advice in t("wrong_name.one_word", lang)
    assert validate_name("Sukarno Sukarno") == Valid("Sukarno Sukarno")


def test_message_is_trimmed_and_keeps_its_lines() -> None:
    assert validate_message("  Non riesco a pagare\r\nla prima rata\x00  ") == Valid(
        "Non riesco a pagare\nla prima rata"
    )
    assert validate_message("a" * 4000) == Valid("a" * 4000)


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("", "wrong_message.empty"),
        (" \n\t ", "wrong_message.empty"),
        ("aiuto!", "wrong_message.too_short"),
        ("   aiuto!   ", "wrong_message.too_short"),
        ("a" * 4001, "wrong_message.too_long"),
    ],
)
def test_message_errors(typed: str, key: str) -> None:
    assert validate_message(typed) == Invalid(key)


@pytest.mark.parametrize(
    "typed",
    ["000412", "412", " #000412 ", "#412", "# 412", "0000412", "000 412", "0 0 0 4 1 2",
     "000  412"],
)
def test_ticket_number_is_read_with_or_without_zeros(typed: str) -> None:
    assert validate_number(typed) == Valid("000412")


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("", "wrong_number.empty"),
        ("41a", "wrong_number.format"),
        ("1234567", "wrong_number.format"),
        ("12-34", "wrong_number.format"),
        ("ticket 412", "wrong_number.format"),
        ("1 234 567", "wrong_number.format"),
    ],
)
def test_ticket_number_errors(typed: str, key: str) -> None:
    assert validate_number(typed) == Invalid(key)


def test_topic_and_subtopic_must_exist_in_the_faq(faq: FaqIndex) -> None:
    assert validate_topic("immatricolazioni", faq) == Valid("immatricolazioni")
    assert validate_topic("", faq) == Invalid("wrong_topic.empty")
    assert validate_topic("sport", faq) == Invalid("wrong_topic.unknown")
    assert validate_subtopic("immatricolazioni", "credenziali", faq) == Valid("credenziali")
    assert validate_subtopic("immatricolazioni", "", faq) == Invalid("wrong_subtopic.empty")
    # a subtopic of another topic is not one of this topic's
    assert validate_subtopic("carriera", "credenziali", faq) == Invalid("wrong_subtopic.unknown")
    assert validate_subtopic("sport", "credenziali", faq) == Invalid("wrong_subtopic.unknown")


def test_validate_ticket_gives_clean_values(faq: FaqIndex) -> None:
    clean, errors = validate_ticket(
        {
            "email": "Mario.Rossi@Gmail.com",
            "name": " Rossi  Mario ",
            "phone": "333 123 4567",
            "topic": "immatricolazioni",
            "subtopic": "tasse-pagamenti",
            "message": "  Come pago la prima rata?  ",
            "lang": "en",
        },
        faq,
    )
    assert errors == {}
    assert clean == {
        "email": "mario.rossi@gmail.com",
        "name": "Rossi Mario",
        "phone": "+393331234567",
        "topic": "immatricolazioni",
        "subtopic": "tasse-pagamenti",
        "message": "Come pago la prima rata?",
        "lang": "en",
    }


def test_validate_ticket_names_every_wrong_field(faq: FaqIndex) -> None:
    clean, errors = validate_ticket(
        {"email": "mario@gmail", "name": "Rossi", "phone": 3331234567, "topic": "sport",
         "subtopic": "tasse-pagamenti", "lang": "fr"},
        faq,
    )
    assert errors == {
        "email": "wrong_email.domain_dot",
        "name": "wrong_name.one_word",
        "topic": "wrong_topic.unknown",
        "subtopic": "wrong_subtopic.unknown",
        "message": "wrong_message.empty",
    }
    # a JSON number is still a phone number; an unknown language falls back to Italian
    assert clean == {"phone": "+393331234567", "lang": "it"}
    assert all(has(key) for key in errors.values())


def test_validate_ticket_refuses_values_that_are_not_text(faq: FaqIndex) -> None:
    _, errors = validate_ticket({"email": ["a@b.it"], "name": None, "phone": True}, faq)
    assert errors["email"] == "wrong_email.empty"
    assert errors["name"] == "wrong_name.empty"
    assert errors["phone"] == "wrong_phone.empty"
