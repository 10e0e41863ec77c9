"""Log lines the university's IT can search: each carries the id of the request it belongs to
(the same id a 500 shows the user as its reference), and with HELPDESK_LOG_FORMAT=json each is
one JSON object."""

from __future__ import annotations

import json
import logging
import secrets
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

from web.desk.redact import without_emails

# aiohttp runs every request in a task of its own, so a value set by the middleware is seen
# by everything that request logs, and by nothing else.
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def new_request_id() -> str:
    # Short enough to read out over the phone, random enough not to repeat in a day's logs.
    return secrets.token_hex(5)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get() or "-"
        return True


class NoEmails(logging.Filter):
    """A log line outlives an erasure and the retention (journald, the university's collector):
    the students' emails are taken out of every line and traceback, whichever code wrote it (a
    mail server's refusal quotes its recipient). Phone numbers stay: a line's numbers are the
    operations' (ids, sizes, times), and no log line is written from a student's text."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            # A call whose arguments do not fit its format (a library's slip): logging never
            # raises into the code that logs, and its own report of the slip would print the
            # arguments as they are. The line keeps both, redacted below.
            record.msg, record.args = f"{record.msg} {record.args!r}", None
            message = record.msg
        hidden = without_emails(message)
        if hidden != message:
            record.msg, record.args = hidden, None
        if record.exc_info and not record.exc_text:
            record.exc_text = _TRACEBACKS.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = without_emails(record.exc_text)
        return True


_TRACEBACKS = logging.Formatter()


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or REQUEST_ID.get(),
        }
        if record.exc_info:
            # exc_text: the traceback as NoEmails left it
            line["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def setup_logging(log_format: str, level: int = logging.INFO) -> None:
    """One handler on the root logger, to stderr, text or JSON."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(NoEmails())
    json_lines = log_format == "json"
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
