"""Validation of what students type, shared by the chat and the HTTP API.

Each validator returns `Valid(value)` with the normalised value, or `Invalid(key)` where `key`
is the i18n key of a message that says what exactly is wrong (Rasa's `wrong_<slot>`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import phonenumbers
from email_validator import EmailNotValidError
from email_validator import validate_email as _check_email
from phonenumbers import PhoneNumberType, ValidationResult

from bot.i18n import LANGS

if TYPE_CHECKING:
    from bot.faq import FaqIndex

MAX_ATTACHMENT_BYTES = 2 * 1024 * 1024
MESSAGE_MIN = 10
MESSAGE_MAX = 4000
NAME_MIN = 2
NAME_MAX = 100
EMAIL_MAX = 254
TICKET_FIELDS = ("email", "name", "phone", "topic", "subtopic", "message")


@dataclass(frozen=True)
class Valid:
    value: str


@dataclass(frozen=True)
class Invalid:
    key: str


Result = Valid | Invalid

# The help desk's own sender (noreply@localhost by default): a ticket whose contact address
# is our own would make the notifications mail themselves (osTicket's old mail-loop bug).
BLOCKED_DOMAINS = ("localhost",)
# Domains that students mistype on a phone keyboard and that would never receive our mail.
TYPO_DOMAINS = frozenset(
    {
        "gmail.it",
        "gmail.co",
        "gmail.cm",
        "gmail.om",
        "gmial.com",
        "gmai.com",
        "gamil.com",
        "gmal.com",
        "gmaill.com",
        "gnail.com",
        "hotmial.com",
        "hotmai.com",
        "hotmail.co",
        "hotmil.com",
        "outlok.com",
        "outlook.co",
        "yaho.com",
        "yahoo.co",
        "yaoo.com",
        "libero.ti",
        "libro.it",
        "icloud.co",
        "iclod.com",
        "live.co",
    }
)
TYPO_TLDS = frozenset({"con", "cpm", "ocm", "vom", "xom", "comm", "coom", "cim", "ti"})


def plain_email(text: str) -> str:
    """An address as a Chinese or Japanese keyboard may type it (full-width ＠ and letters,
    the dot as ． or 。) in the ASCII signs that mailboxes have: else "zhang．wei@163.com"
    would be kept, and mailed, as a mailbox that does not exist."""
    return unicodedata.normalize("NFKC", text).replace("\u3002", ".").strip()


def email_forms(text: str) -> set[str]:
    """The forms a ticket may keep an address given as `text` in, lower-cased: the one it keeps
    today (plain_email), and the text as given, for a ticket kept before full-width letters and
    dots were made ASCII ("ｚｈａｎｇ．wei@163.com"), which the student still types, the console
    shows, and the register of erasure requests holds that way."""
    return {text.strip().lower(), plain_email(text).lower()}


def validate_email(text: str) -> Result:
    """A personal email address, lower-cased."""
    address = plain_email(text)
    if not address:
        return Invalid("wrong_email.empty")
    if len(address) > EMAIL_MAX:
        return Invalid("wrong_email.too_long")
    if any(c.isspace() for c in address):
        return Invalid("wrong_email.spaces")
    if "@" not in address:
        return Invalid("wrong_email.no_at")
    if address.count("@") > 1:
        return Invalid("wrong_email.many_at")
    local, domain = address.split("@")
    domain = domain.lower()
    if not local:
        return Invalid("wrong_email.no_local")
    if not domain:
        return Invalid("wrong_email.no_domain")
    if any(domain == d or domain.endswith("." + d) for d in BLOCKED_DOMAINS):
        return Invalid("wrong_email.reserved")
    if "." not in domain.strip("."):
        return Invalid("wrong_email.domain_dot")
    if domain in TYPO_DOMAINS or domain.rsplit(".", 1)[-1] in TYPO_TLDS:
        return Invalid("wrong_email.typo")
    try:
        checked = _check_email(address, check_deliverability=False)
    except EmailNotValidError:
        # email-validator explains in English only; we just need to know which side is wrong.
        return Invalid("wrong_email.local" if _bad_local(local) else "wrong_email.domain")
    return Valid(checked.normalized.lower())


def _bad_local(local: str) -> bool:
    try:
        _check_email(f"{local}@example.com", check_deliverability=False)
    except EmailNotValidError:
        return True
    return False


_PHONE_CHARS = re.compile(r"[0-9+().\-/\s]+")
# San Marino and the Vatican share Italian fixed-line numbering rules for our purpose.
_ITALIAN_REGIONS = ("IT", "SM", "VA")


def validate_phone(text: str, region: str = "IT") -> Result:
    """A mobile number in E.164 (+393331234567); national numbers are read as Italian."""
    # Full-width signs (NFKC) and the digits of other scripts (Arabic-Indic, Persian...) are
    # the ones phone keyboards in those languages type: the same number.
    raw = "".join(
        str(unicodedata.decimal(c)) if c.isdecimal() else c
        for c in unicodedata.normalize("NFKC", text).strip()
    )
    if not raw:
        return Invalid("wrong_phone.empty")
    # "(+39) 333 1234567": the prefix in brackets is still the number's start
    if (
        not _PHONE_CHARS.fullmatch(raw)
        or "+" in raw.lstrip("( ")[1:]
        or not any(c.isdigit() for c in raw)
    ):
        return Invalid("wrong_phone.characters")
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        if exc.error_type == phonenumbers.NumberParseException.TOO_LONG:
            return Invalid("wrong_phone.too_long")
        if exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            return Invalid("wrong_phone.country")
        return Invalid("wrong_phone.too_short")
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible == ValidationResult.TOO_SHORT:
        return Invalid("wrong_phone.too_short")
    if possible == ValidationResult.TOO_LONG:
        return Invalid("wrong_phone.too_long")
    if possible == ValidationResult.INVALID_COUNTRY_CODE:
        return Invalid("wrong_phone.country")
    if not phonenumbers.is_valid_number(number):
        return Invalid("wrong_phone.invalid")
    if phonenumbers.region_code_for_number(number) in _ITALIAN_REGIONS:
        kind = phonenumbers.number_type(number)
        if kind == PhoneNumberType.FIXED_LINE:
            return Invalid("wrong_phone.not_mobile")
        if kind == PhoneNumberType.VOICEMAIL:
            # a mobile number with one digit too many reads as a voicemail access number
            return Invalid("wrong_phone.too_long")
        if kind not in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE):
            return Invalid("wrong_phone.service")
    return Valid(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


# Phones type typographic apostrophes and hyphens: one plain form, for names and file names.
PLAIN_PUNCTUATION = str.maketrans(
    {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u2010": "-"}
)


# The middle dot parts a name written without spaces, as on a Chinese identity card for a
# Uyghur or Tibetan name (迪丽热巴·迪力木拉提) and in a foreign name written in katakana.
_MIDDLE_DOTS = "\u00b7\u30fb\uff65"
# The zero-width (non-)joiner is part of how Persian and Indic names are spelled.
_NAME_SIGNS = " '-.\u200c\u200d" + _MIDDLE_DOTS
_NAME_PARTS = re.compile(f"[ {_MIDDLE_DOTS}]")
# Chinese, Japanese and Korean names are written without a space between surname and name.
_UNSPACED = re.compile(r"[\u1100-\u11ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def validate_name(text: str) -> Result:
    """'Cognome Nome': letters of any script, spaces, apostrophes, hyphens, dots."""
    # Phones type a typographic apostrophe (D’Angelo): store one form so search and mail agree.
    # "Sánchez, José": the comma of a surname written first is the space of our format
    plain = unicodedata.normalize("NFC", text).translate(PLAIN_PUNCTUATION).replace(",", " ")
    name = " ".join(plain.split())
    if not name:
        return Invalid("wrong_name.empty")
    if "@" in name:
        return Invalid("wrong_name.email")
    if any(c.isdigit() for c in name):
        return Invalid("wrong_name.digits")
    if not all(
        c.isalpha() or unicodedata.category(c).startswith("M") or c in _NAME_SIGNS for c in name
    ):
        return Invalid("wrong_name.characters")
    if len(name) < NAME_MIN:
        return Invalid("wrong_name.too_short")
    if len(name) > NAME_MAX:
        return Invalid("wrong_name.too_long")
    words = sum(any(c.isalpha() for c in word) for word in _NAME_PARTS.split(name))
    if words < 2 and not (len(name) >= 2 and all(_UNSPACED.match(c) for c in name)):
        return Invalid("wrong_name.one_word")
    return Valid(name)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _clean_text(text: str) -> str:
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()


def validate_message(text: str) -> Result:
    """The request that opens a ticket: 10..4000 characters once trimmed; line breaks kept."""
    message = _clean_text(text)
    if not message:
        return Invalid("wrong_message.empty")
    if len(message) < MESSAGE_MIN:
        return Invalid("wrong_message.too_short")
    if len(message) > MESSAGE_MAX:
        return Invalid("wrong_message.too_long")
    return Valid(message)


def validate_reply(text: str, *, has_attachment: bool = False) -> Result:
    """A message in an open ticket, from a student or an operator: anything from "ok grazie"
    up to 4000 characters; it may be empty when a file carries it."""
    message = _clean_text(text)
    if not message and not has_attachment:
        return Invalid("wrong_message.empty")
    if len(message) > MESSAGE_MAX:
        return Invalid("wrong_message.too_long")
    return Valid(message)


# digits, spaces between them allowed: a number copied from a mail or read out on the
# phone comes in groups ("000 412")
_NUMBER = re.compile(r"#?\s*(\d(?:\s*\d){0,11})")


def validate_number(text: str) -> Result:
    """A ticket number as students write it ('412', '000412', ' #000412 ', '000 412') ->
    '000412'."""
    raw = text.strip()
    if not raw:
        return Invalid("wrong_number.empty")
    match = _NUMBER.fullmatch(raw)
    number = int("".join(match.group(1).split())) if match else None
    if number is None or number > 999_999:
        return Invalid("wrong_number.format")
    return Valid(f"{number:06d}")


def validate_topic(value: str, faq: FaqIndex) -> Result:
    topic_id = value.strip()
    if not topic_id:
        return Invalid("wrong_topic.empty")
    if faq.topic(topic_id) is None:
        return Invalid("wrong_topic.unknown")
    return Valid(topic_id)


def validate_subtopic(topic_id: str, value: str, faq: FaqIndex) -> Result:
    subtopic_id = value.strip()
    if not subtopic_id:
        return Invalid("wrong_subtopic.empty")
    topic = faq.topic(topic_id.strip())
    if topic is None or all(s.id != subtopic_id for s in topic.subtopics):
        return Invalid("wrong_subtopic.unknown")
    return Valid(subtopic_id)


# How a student can be reached: checked alike when a ticket is opened and when an operator
# corrects them.
CONTACT_CHECKS: Mapping[str, Callable[[str], Result]] = {
    "email": validate_email,
    "name": validate_name,
    "phone": validate_phone,
}


def validate_ticket(
    fields: Mapping[str, object], faq: FaqIndex
) -> tuple[dict[str, str], dict[str, str]]:
    """The fields of a new ticket (HTTP API): clean values, and errors as field -> i18n key.
    `lang` is optional and falls back to Italian."""
    raw = {name: _as_text(fields.get(name)) for name in TICKET_FIELDS}
    clean, errors = _split(
        {
            **{name: check(raw[name]) for name, check in CONTACT_CHECKS.items()},
            "topic": validate_topic(raw["topic"], faq),
            "subtopic": validate_subtopic(raw["topic"], raw["subtopic"], faq),
            "message": validate_message(raw["message"]),
        }
    )
    lang = _as_text(fields.get("lang")).strip().lower()
    clean["lang"] = lang if lang in LANGS else "it"
    return clean, errors


def validate_contact(fields: Mapping[str, object]) -> tuple[dict[str, str], dict[str, str]]:
    """The contact details among `fields` (an operator correcting a ticket's), each checked as
    when the ticket was opened: clean values and errors as validate_ticket's. A field not
    given is left out of both."""
    return _split(
        {name: check(_as_text(fields[name])) for name, check in CONTACT_CHECKS.items()
         if name in fields}
    )


def _split(results: Mapping[str, Result]) -> tuple[dict[str, str], dict[str, str]]:
    clean: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name, result in results.items():
        if isinstance(result, Valid):
            clean[name] = result.value
        else:
            errors[name] = result.key
    return clean, errors


def _as_text(value: object) -> str:
    # JSON clients send a phone number as a number now and then; anything else is no text.
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""
