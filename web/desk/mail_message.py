"""One notification as it goes out, what the SMTP server said about it, and its file in the
outbox folder when there is no SMTP server."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path

import aiosmtplib
import idna

from storage import OutboxMail
from storage.files import fsync_dir
from web.config import Config

ERROR_CHARS = 500

# The server answered about this very mail: another mail may well go through. Only its 5xx
# answers are refusals; a 4xx (aiosmtplib raises the same classes) means "later" (temporary).
REFUSED = (
    aiosmtplib.SMTPRecipientsRefused,
    aiosmtplib.SMTPRecipientRefused,
    aiosmtplib.SMTPDataError,
)
# The server (or the outbox folder) is unreachable, or refuses us whatever we send: connection,
# timeout, TLS (ssl.SSLError is an OSError), greeting, login, sender.
UNREACHABLE = (OSError, aiosmtplib.SMTPException)


def address(value: str) -> str:
    return parseaddr(value)[1].strip().lower()


def recipient(email: str) -> str:
    """The student's address as SMTP takes it. An accented domain (which bot.validate accepts)
    goes out in its ASCII form; an accented local part needs SMTPUTF8 (build_message), since
    a header may not encode it."""
    local, _, domain = email.rpartition("@")
    try:
        return f"{local}@{idna.encode(domain).decode('ascii')}"
    except idna.IDNAError:
        return email


def server_answers(error: BaseException) -> list[tuple[int, str]]:
    """The SMTP server's answers (code, text) that the error carries; [] for no answer (a
    connection, TLS or file error)."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return [(r.code, r.message) for r in error.recipients]
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return [(error.code, error.message)]
    return []


def temporary(error: BaseException) -> bool:
    """The server said "not now" (4xx): greylisting, a full disk, a rate limit."""
    answers = server_answers(error)
    return bool(answers) and all(400 <= code < 500 for code, _ in answers)


def closing(error: BaseException) -> bool:
    """The server is shutting the session down (421: too many connections, going down for
    maintenance), whatever this mail is: every mail would get the same answer now."""
    return any(code == 421 for code, _ in server_answers(error))


def describe(error: BaseException) -> str:
    """The server's own words when it answered ("450 4.2.0 Greylisted ..."), else the error."""
    answers = server_answers(error)
    if answers:
        text = "; ".join(f"{code} {message}".strip() for code, message in answers)
    else:
        text = f"{type(error).__name__}: {error}".strip()
    return text[:ERROR_CHARS]


def build_message(number: str, mail: OutboxMail, config: Config) -> EmailMessage:
    """The mail as it goes out: plain text with an HTML alternative, marked as automatic so
    that autoresponders (out-of-office, vacation) do not answer it, replies pointed at the
    no-reply sender."""
    sender = address(config.mail_from)
    domain = sender.rpartition("@")[2] or "localhost"
    to = recipient(mail.to)
    message = EmailMessage(policy=policy.default if to.isascii() else policy.SMTPUTF8)
    message["From"] = config.mail_from
    message["To"] = to
    message["Reply-To"] = config.mail_from
    message["Subject"] = mail.subject
    # Both fixed by the mail, not by the try: a mail sent twice (see at-least-once above) is
    # the same message, and mailboxes that deduplicate by Message-ID show it once.
    message["Date"] = format_datetime(datetime.fromisoformat(mail.created_at).astimezone(UTC))
    message["Message-ID"] = f"<ticket-{number}.{mail.id}@{domain}>"
    # Every mail of a ticket answers the same (never sent) root, so that mail clients that
    # thread by references show a ticket's mails as one conversation.
    message["In-Reply-To"] = message["References"] = f"<ticket-{number}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834
    message["X-Auto-Response-Suppress"] = "All"  # the same, for Exchange
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


def eml_name(number: str, mail: OutboxMail) -> str:
    """created_at first, so that a listing of the folder is in the order mail was queued."""
    at = datetime.fromisoformat(mail.created_at).astimezone(UTC)
    stamp = at.strftime("%Y%m%dT%H%M%S") + f"{at.microsecond // 1000:03d}Z"
    # The id comes from our own records, but it reaches a path: letters and digits only.
    mail_id = re.sub(r"[^A-Za-z0-9]", "", mail.id) or "mail"
    return f"{stamp}-{number}-{mail_id}.eml"


def delete_mail_files(folder: Path, number: str) -> None:
    """Every mail of a ticket written to the outbox folder (eml_name: no other dash)."""
    gone = list(folder.glob(f"*-{number}-*.eml"))
    for path in gone:
        path.unlink(missing_ok=True)
    if gone:
        fsync_dir(folder)
