"""What the log keeps of a student: a log line outlives an erasure and the retention (it goes to
journald, to the university's log collector), so no line may carry a student's email, in either
log format, whoever wrote it: our code, a library, a traceback."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

import aiohttp
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.processes import WebProcess
from tests.web.desk.test_mail import Inbox, SmtpServer, free_port
from web.http.logs import setup_logging

EMAIL = "mario.rossi@studenti.unipg.it"


class Postfix(Inbox):
    """Refuses every mailbox in the words of Postfix, which name the address."""

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        return (f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in local"
                " recipient table")


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_a_refused_mail_is_logged_without_the_students_address(
    tmp_path: Path, log_format: str
) -> None:
    smtp = SmtpServer(free_port())
    smtp.inbox = Postfix()
    await smtp.start()
    process = WebProcess("web", tmp_path / "data", {
        "HELPDESK_SMTP_HOST": "127.0.0.1",
        "HELPDESK_SMTP_PORT": str(smtp.port),
        "HELPDESK_MAIL_MAX_ATTEMPTS": "2",
        "HELPDESK_LOG_FORMAT": log_format,
    })
    try:
        await asyncio.to_thread(process.start)
        await asyncio.to_thread(process.wait_ready)
        async with aiohttp.ClientSession() as http, http.post(f"{process.url}/api/tickets", json={
            "email": EMAIL.upper(), "name": "Rossi Mario", "phone": "3331234567",
            "topic": "immatricolazioni", "subtopic": "tasse-pagamenti",
            "message": "Ho pagato la prima rata ma il portale non la registra.",
        }) as response:
            assert response.status == 201
        deadline = time.monotonic() + 40
        while "parked after 2 tries" not in process.log():
            assert time.monotonic() < deadline, process.log()
            await asyncio.sleep(0.1)
    finally:
        await asyncio.to_thread(process.stop)
        await smtp.stop()
    log = process.log()
    refusals = [line for line in log.splitlines() if "Recipient address rejected" in line]
    # Both tries are logged, with the server's words (what the admin needs), not the address.
    assert len(refusals) == 2, log
    assert "550 5.1.1" in refusals[0]
    if log_format == "json":
        assert all(json.loads(line)["level"] in ("WARNING", "ERROR") for line in refusals)
    assert "mario.rossi" not in log.lower(), log


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_traceback_is_logged_without_the_address_its_error_quotes(
    log_format: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    kept = (list(root.handlers), root.level)
    try:
        setup_logging(log_format)
        try:
            {}[EMAIL]
        except KeyError:
            logging.getLogger("helpdesk.test").exception("look-up of %s failed", EMAIL)
        # the database's URL names its user, not a mailbox: it stays readable
        logging.getLogger("helpdesk.test").info("opened postgresql://helpdesk@db.unipg.it/hd")
    finally:
        root.handlers[:], root.level = kept
    err = capsys.readouterr().err
    assert "KeyError" in err and "look-up of <email> failed" in err
    assert "postgresql://helpdesk@db.unipg.it/hd" in err
    assert "mario.rossi" not in err, err


def test_a_log_call_whose_arguments_do_not_fit_raises_nothing_and_hides_the_email(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # logging's promise: a slip in a log call (ours or a library's) never becomes an error in
    # the code that logs, such as a request's 500 or a background loop's end
    root = logging.getLogger()
    kept = (list(root.handlers), root.level)
    try:
        setup_logging("text")
        logging.getLogger("helpdesk.test").warning("mail to %s refused: %s", EMAIL)
    finally:
        root.handlers[:], root.level = kept
    err = capsys.readouterr().err
    # (the redaction takes a quote before an address for the address's own apostrophe)
    assert "WARNING helpdesk.test [-]: mail to %s refused: %s (<email>',)" in err, err
    assert "mario.rossi" not in err, err
