"""The outbox worker against a real SMTP server (aiosmtpd) on loopback, and a real storage."""

from __future__ import annotations

import asyncio
import email
import email.policy
import errno
import inspect
import logging
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from storage import Message, OutboxMail, Storage, Ticket, utcnow
from tests.servers import PostgresServer
from web.config import Config
from web.desk import mail as mail_worker
from web.desk import notify
from web.desk.anonymise import Anonymiser
from web.desk.mail import OutboxWorker, backoff
from web.desk.mail_message import build_message, eml_name

SENDER = "noreply@helpdesk.unipg.test"
PUBLIC_URL = "https://helpdesk.unipg.test"


def fast(attempts: int) -> float:
    return 0.05


class Inbox:
    """An aiosmtpd handler: keeps what it accepts, refuses the addresses in `refuse`, and
    answers "try later" (4xx) to the next `defer_rcpt[address]` RCPTs of an address (greylisting)
    and to the next `defer_data` DATAs."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.refuse: set[str] = set()
        self.defer_rcpt: dict[str, int] = {}
        self.defer_data = 0
        self.closing = False  # answer every RCPT with 421, as a server shutting down does
        self.deferred = 0  # 4xx answers given
        self.secure: list[tuple[bool, bool]] = []  # per mail: (over TLS, logged in)

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self.closing:
            return "421 4.7.0 Too many connections, closing transmission channel"
        if address.lower() in self.refuse:
            return "550 5.1.1 No such mailbox"
        if self.defer_rcpt.get(address.lower(), 0) > 0:
            self.defer_rcpt[address.lower()] -= 1
            self.deferred += 1
            return "450 4.2.0 Greylisted, please try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.defer_data > 0:
            self.defer_data -= 1
            self.deferred += 1
            return "452 4.3.1 Insufficient system storage"
        self.envelopes.append(envelope)
        over_tls = server.transport is not None and (
            server.transport.get_extra_info("ssl_object") is not None
        )
        self.secure.append((over_tls, bool(session.authenticated)))
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        parsed = []
        for envelope in self.envelopes:
            assert isinstance(envelope.content, bytes)
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            parsed.append(message)
        return parsed

    def message_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.messages()]


class SmtpServer:
    """A real SMTP server on 127.0.0.1 that can be stopped and started on the same port.
    options: aiosmtpd's, for TLS and login."""

    def __init__(self, port: int, **options: Any) -> None:
        self.port = port
        self.inbox = Inbox()
        self._options = options
        self._controller: Controller | None = None

    async def start(self) -> None:
        self._controller = Controller(
            self.inbox, hostname="127.0.0.1", port=self.port, **self._options
        )
        await asyncio.to_thread(self._controller.start)

    async def stop(self) -> None:
        if self._controller is not None:
            await asyncio.to_thread(self._controller.stop)
            self._controller = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpServer]:
    server = SmtpServer(free_port())
    await server.start()
    yield server
    await server.stop()


def config_for(data_dir: Path, smtp: SmtpServer | None, **changes: Any) -> Config:
    base = Config(
        data_dir=data_dir,
        public_url=PUBLIC_URL,
        smtp_host="127.0.0.1" if smtp else None,
        smtp_port=smtp.port if smtp else 25,
        mail_from=SENDER,
        mail_max_attempts=3,
    )
    return replace(base, **changes)


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[Storage]:
    store = await Storage.open(tmp_path / "data")
    yield store
    await store.close()


@pytest.fixture
async def workers() -> AsyncIterator[list[OutboxWorker]]:
    """Workers a test started: stopped at its end (before its storage closes) if it failed
    before stopping them itself."""
    started: list[OutboxWorker] = []
    yield started
    for worker in started:
        await worker.stop()


async def start_worker(
    storage: Storage, config: Config, workers: list[OutboxWorker], reply_timeout: float = 2.0
) -> OutboxWorker:
    worker = OutboxWorker(storage, config, backoff=fast, timeout=reply_timeout)
    workers.append(worker)
    await worker.start()
    return worker


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], within: float = 5.0
) -> None:
    deadline = time.monotonic() + within
    while not await _value(check()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


async def open_ticket(
    storage: Storage,
    *,
    email_address: str | None = None,
    name: str = "Rossi Mario",
    lang: str = "it",
) -> Ticket:
    address = email_address or f"student-{secrets.token_hex(4)}@example.org"

    def build(number: str) -> Ticket:
        ticket = Ticket(
            number=number,
            email=address,
            name=name,
            phone="+393331234567",
            topic="immatricolazioni",
            subtopic="tasse-pagamenti",
            lang=lang,
        )
        ticket.messages.append(
            Message(
                id=secrets.token_hex(8),
                author="student",
                name=name,
                body="Non riesco a pagare la prima rata.",
            )
        )
        notify.queue(ticket, "opened", public_url=PUBLIC_URL)
        return ticket

    return await storage.tickets.create(build)


def stored_mail(ticket: Ticket) -> dict[str, OutboxMail]:
    return {m.id: m for m in ticket.outbox}


async def _value(result: bool | Awaitable[bool]) -> bool:
    return await result if inspect.isawaitable(result) else result


async def all_mail(storage: Storage) -> list[OutboxMail]:
    mails: list[OutboxMail] = []
    for summary in await storage.tickets.summaries():
        ticket = await storage.tickets.get(summary.number)
        assert ticket is not None
        mails.extend(ticket.outbox)
    return mails


async def queued(storage: Storage) -> list[OutboxMail]:
    """All the mail waiting, due or not."""
    return [m for m in await all_mail(storage) if m.state == "queued"]


async def has_parked(storage: Storage, count: int) -> bool:
    return len(await storage.outbox.parked()) == count


# --- what goes out ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "notice", "expected"),
    [
        (
            "it",
            "Non rispondere a questa email",
            [
                "Richiesta ricevuta",
                "Nuova risposta dall'assistenza",
                "Ci servono altre informazioni",
                "Ticket chiuso",
            ],
        ),
        (
            "en",
            "Do not reply to this email",
            [
                "Request received",
                "New reply from the help desk",
                "We need more information from you",
                "Ticket closed",
            ],
        ),
    ],
)
async def test_each_event_sends_its_mail_with_headers_and_both_alternatives(
    storage: Storage,
    smtp: SmtpServer,
    tmp_path: Path,
    workers: list[OutboxWorker],
    lang: str,
    notice: str,
    expected: list[str],
) -> None:
    config = config_for(tmp_path, smtp)
    ticket = await open_ticket(
        storage,
        email_address="mario.rossi@example.org",
        name="Rossi <script>x</script> Mario",
        lang=lang,
    )
    number = ticket.number
    answer = Message(id="r1", author="operator", name="Anna Bianchi", body="Carica la ricevuta.")
    note = Message(
        id="n1", author="operator", name="Anna Bianchi", body="nota interna", internal=True
    )

    def operator_answers(t: Ticket) -> None:
        t.messages += [note, answer]
        notify.queue(t, "reply", public_url=PUBLIC_URL, message=note)  # queues nothing
        notify.queue(t, "reply", public_url=PUBLIC_URL, message=answer)

    def asks_for_more(t: Ticket) -> None:
        t.status = "awaiting_user"
        notify.queue(t, "awaiting_user", public_url=PUBLIC_URL)

    def closes(t: Ticket) -> None:
        t.status = "closed"
        notify.queue(t, "closed", public_url=PUBLIC_URL)

    for change in (operator_answers, asks_for_more, closes):
        await storage.tickets.update(number, change)
    await start_worker(storage, config, workers)
    await eventually(lambda: len(smtp.inbox.envelopes) == 4)
    await workers[0].stop()

    messages = smtp.inbox.messages()
    assert [m["Subject"] for m in messages] == [f"[Ticket {number}] {s}" for s in expected]
    for envelope, message in zip(smtp.inbox.envelopes, messages, strict=True):
        assert envelope.mail_from == SENDER
        assert envelope.rcpt_tos == ["mario.rossi@example.org"]
        assert message["From"] == SENDER
        assert message["To"] == "mario.rossi@example.org"
        assert message["Reply-To"] == SENDER
        assert message["Auto-Submitted"] == "auto-generated"
        assert message["X-Auto-Response-Suppress"] == "All"
        assert message["Date"] is not None
        assert str(message["Message-ID"]).endswith("@helpdesk.unipg.test>")
        assert message.get_content_type() == "multipart/alternative"
        text = message.get_body(("plain",))
        html = message.get_body(("html",))
        assert isinstance(text, EmailMessage) and isinstance(html, EmailMessage)
        plain, markup = text.get_content(), html.get_content()
        # The notice comes first, before anything else the mail says (even the number).
        assert notice in plain.split(number)[0]
        assert notice in markup.split("<body")[1].split(number)[0]
        for body in (plain, markup):
            assert f"{PUBLIC_URL}/ticket?number={number}" in body
            assert "nota interna" not in body
        assert "<script>" not in markup
        # the name, escaped; the first mail greets none (tests/web/desk/test_notify.py)
        assert ("&lt;script&gt;" in markup) == (message["Subject"] != messages[0]["Subject"])
    reply_text = messages[1].get_body(("plain",))
    assert reply_text is not None and "Carica la ricevuta." in reply_text.get_content()

    stored = await storage.tickets.get(number)
    assert stored is not None
    assert [(m.kind, m.state) for m in stored.outbox] == [
        ("opened", "sent"),
        ("reply", "sent"),
        ("awaiting_user", "sent"),
        ("closed", "sent"),
    ]
    assert all(m.sent_at is not None for m in stored.outbox)
    assert await queued(storage) == []


async def test_the_mails_of_a_ticket_are_one_thread_in_the_student_s_mailbox(
    storage: Storage, smtp: SmtpServer, tmp_path: Path, workers: list[OutboxWorker]
) -> None:
    def closes(t: Ticket) -> None:
        t.status = "closed"
        notify.queue(t, "closed", public_url=PUBLIC_URL)

    tickets = [await open_ticket(storage, email_address="mario.rossi@example.org") for _ in "ab"]
    for ticket in tickets:
        await storage.tickets.update(ticket.number, closes)
    await start_worker(storage, config_for(tmp_path, smtp), workers)
    await eventually(lambda: len(smtp.inbox.envelopes) == 4)
    await workers[0].stop()
    threads: dict[str, set[str]] = {}
    for message in smtp.inbox.messages():
        assert message["In-Reply-To"] == message["References"]
        number = str(message["Subject"]).split("]")[0].removeprefix("[Ticket ")
        threads.setdefault(number, set()).add(str(message["References"]))
    assert threads == {t.number: {f"<ticket-{t.number}@helpdesk.unipg.test>"} for t in tickets}


async def test_a_mail_queued_while_running_goes_out_at_once_on_wake(
    storage: Storage,
    smtp: SmtpServer,
    tmp_path: Path,
    workers: list[OutboxWorker],
) -> None:
    worker = await start_worker(storage, config_for(tmp_path, smtp), workers)
    await asyncio.sleep(0.1)  # the worker is asleep: nothing due, next poll in 30 s
    started = time.monotonic()
    await open_ticket(storage)
    worker.wake()
    await eventually(lambda: len(smtp.inbox.envelopes) == 1, within=2.0)
    assert time.monotonic() - started < 2.0
    await worker.stop()


async def test_an_accented_address_reaches_its_mailbox_with_a_well_formed_to(
    storage: Storage, tmp_path: Path, workers: list[OutboxWorker]
) -> None:
    # bot.validate takes both: an accented domain goes out in its ASCII (IDNA) form, an
    # accented local part as UTF-8 (SMTPUTF8); neither as an encoded-word inside the address.
    smtp = SmtpServer(free_port(), enable_SMTPUTF8=True)
    await smtp.start()
    try:
        for to in ("studente@università.it", "josé@example.org"):
            await open_ticket(storage, email_address=to)
        await start_worker(storage, config_for(tmp_path, smtp), workers)
        await eventually(lambda: len(smtp.inbox.envelopes) == 2, within=5.0)
    finally:
        await smtp.stop()
    delivered = {tuple(e.rcpt_tos) for e in smtp.inbox.envelopes}
    assert delivered == {("studente@xn--universit-y1a.it",), ("josé@example.org",)}
    headers = {str(m["To"]) for m in smtp.inbox.messages()}
    assert headers == {"studente@xn--universit-y1a.it", "josé@example.org"}


def test_the_real_backoff_grows_and_never_exceeds_60_seconds() -> None:
    for attempts in range(1, 30):
        wait = backoff(attempts)
        assert 0.8 * min(60, 2**attempts) <= wait <= min(60, 2**attempts) <= 60


# --- outages, restarts, parking -------------------------------------------------------------


async def test_an_smtp_outage_delays_mail_and_loses_none(
    storage: Storage,
    smtp: SmtpServer,
    tmp_path: Path,
    workers: list[OutboxWorker],
) -> None:
    # Two tries only: an outage must not park mail however many tries it costs.
    worker = await start_worker(storage, config_for(tmp_path, smtp, mail_max_attempts=2), workers)
    await open_ticket(storage)
    worker.wake()
    await eventually(lambda: len(smtp.inbox.envelopes) == 1)

    await smtp.stop()
    during = [await open_ticket(storage) for _ in range(4)]
    worker.wake()
    await eventually(lambda: worker.server_problem is not None)
    # The queue waits in turns: once every mail has failed, more tries than
    # mail_max_attempts have failed in all, and none of them counted against a mail.

    async def all_failed() -> bool:
        return all(m.last_error for m in await queued(storage))

    await eventually(all_failed)
    await asyncio.sleep(0.2)
    assert await storage.outbox.parked() == []
    assert len(await queued(storage)) == 4
    assert all(m.attempts == 0 for m in await queued(storage))
    assert "Connect" in (worker.server_problem or "")
    assert len(smtp.inbox.envelopes) == 1

    await smtp.start()
    await eventually(lambda: len(smtp.inbox.envelopes) == 5)
    await asyncio.sleep(0.2)  # and nothing more arrives
    await worker.stop()

    ids = smtp.inbox.message_ids()
    assert len(ids) == len(set(ids)) == 5  # each exactly once
    for ticket in during:
        assert any(ticket.number in i for i in ids)
    assert {m.state for m in await all_mail(storage)} == {"sent"}
    assert worker.server_problem is None


async def test_mail_still_queued_is_sent_after_a_restart(
    smtp: SmtpServer,
    tmp_path: Path,
    workers: list[OutboxWorker],
) -> None:
    data = tmp_path / "data"
    config = config_for(tmp_path, smtp)
    storage = await Storage.open(data)
    worker = await start_worker(storage, config, workers)
    await open_ticket(storage)
    worker.wake()
    await eventually(lambda: len(smtp.inbox.envelopes) == 1)

    await smtp.stop()
    pending = [await open_ticket(storage) for _ in range(3)]
    worker.wake()
    await eventually(lambda: worker.server_problem is not None)
    await worker.stop()
    await storage.close()
    await smtp.start()

    storage = await Storage.open(data)  # the process starts again
    try:
        assert len(await queued(storage)) == 3  # the queue came back from disk
        worker = await start_worker(storage, config, workers)
        await eventually(lambda: len(smtp.inbox.envelopes) == 4)
        await asyncio.sleep(0.2)
        await worker.stop()
        ids = smtp.inbox.message_ids()
        assert len(ids) == len(set(ids)) == 4  # the one sent before the restart is not resent
        for ticket in pending:
            assert any(ticket.number in i for i in ids)
    finally:
        await storage.close()


async def test_workers_of_two_processes_on_one_database_send_each_mail_once(
    smtp: SmtpServer,
    tmp_path: Path,
    workers: list[OutboxWorker],
    database_url: str,
) -> None:
    from storage.postgres import PostgresStorage

    one = await PostgresStorage.open(database_url)
    other = await PostgresStorage.open(database_url)
    try:
        tickets = [await open_ticket(one) for _ in range(30)]
        first = await start_worker(one, config_for(tmp_path / "one", smtp), workers)
        first.wake()
        # The second starts while the first is sending what it claimed (CLAIM at a time).
        await eventually(lambda: len(smtp.inbox.envelopes) >= 1)
        second = await start_worker(other, config_for(tmp_path / "other", smtp), workers)
        second.wake()
        await eventually(lambda: len(smtp.inbox.envelopes) >= 30)
        await asyncio.sleep(0.3)  # and nothing more arrives
        for worker in (first, second):
            await worker.stop()
        ids = smtp.inbox.message_ids()
        assert len(ids) == len(set(ids)) == 30
        numbers = {i.split(".")[0].removeprefix("<ticket-") for i in ids}
        assert numbers == {t.number for t in tickets}
        assert {m.state for m in await all_mail(other)} == {"sent"}
    finally:
        await one.close()
        await other.close()


def first_mail_sent(storage: Storage, number: str) -> Callable[[], Awaitable[bool]]:
    """Whether the worker has written down that the ticket's first mail left (the server has
    the mail a moment before)."""

    async def sent() -> bool:
        stored = await storage.tickets.get(number)
        return stored is not None and stored.outbox[0].state == "sent"

    return sent


def slow_goodbye(smtp: SmtpServer, seconds: float) -> None:
    """The relay has taken the mail and dawdles over its goodbye (QUIT)."""

    async def slow_quit(*_: Any) -> str:
        await asyncio.sleep(seconds)
        return "221 Bye"

    smtp.inbox.handle_QUIT = slow_quit  # type: ignore[attr-defined]


def slow_acceptance(smtp: SmtpServer, seconds: float) -> None:
    """The relay takes the message, then answers it late (a content scan at peak time)."""
    accept = smtp.inbox.handle_DATA

    async def accept_late(*args: Any) -> str:
        answer = await accept(*args)
        await asyncio.sleep(seconds)
        return answer

    smtp.inbox.handle_DATA = accept_late  # type: ignore[method-assign]


async def test_a_relay_slow_to_answer_the_message_gets_it_once(
    storage: Storage, smtp: SmtpServer, tmp_path: Path, workers: list[OutboxWorker]
) -> None:
    # Slower than the timeout for connecting: giving up there would send the mail again at
    # every try, and the student would get a copy a minute for as long as the relay is slow.
    slow_acceptance(smtp, 2.5)
    ticket = await open_ticket(storage)
    worker = await start_worker(storage, config_for(tmp_path, smtp), workers, reply_timeout=1.0)

    await eventually(first_mail_sent(storage, ticket.number), within=10)
    await worker.stop()
    assert len(smtp.inbox.envelopes) == 1


async def test_a_relay_slow_to_say_goodbye_after_taking_the_mail_gets_it_once(
    storage: Storage,
    smtp: SmtpServer,
    tmp_path: Path,
    workers: list[OutboxWorker],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The mail's deadline runs out while the relay, having taken the mail, says goodbye.
    monkeypatch.setattr(mail_worker, "MAIL_DEADLINE", 1.0)

    slow_goodbye(smtp, 1.5)
    ticket = await open_ticket(storage)
    worker = await start_worker(storage, config_for(tmp_path, smtp), workers, reply_timeout=5.0)

    await eventually(first_mail_sent(storage, ticket.number), within=10)
    await asyncio.sleep(2)  # a worker that took the goodbye for a failure sends it again
    await worker.stop()
    assert len(smtp.inbox.envelopes) == 1


async def test_a_stop_during_a_slow_goodbye_keeps_the_mail_the_relay_took_as_sent(
    storage: Storage,
    smtp: SmtpServer,
    tmp_path: Path,
    workers: list[OutboxWorker],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The service restarts while a relay that took the mail dawdles over its goodbye (longer
    # than a stop waits): the mail is sent, and the next start must not send it again.
    monkeypatch.setattr(mail_worker, "STOP_GRACE", 0.5)

    slow_goodbye(smtp, 5)
    ticket = await open_ticket(storage)
    worker = await start_worker(storage, config_for(tmp_path, smtp), workers, reply_timeout=5.0)
    await eventually(lambda: len(smtp.inbox.envelopes) == 1, within=10)
    await asyncio.sleep(0.5)  # the relay has answered the message and waits for QUIT
    await worker.stop()
    stored = await storage.tickets.get(ticket.number)
    assert stored is not None and stored.outbox[0].state == "sent"


async def test_a_slow_relay_does_not_outlast_the_claims_of_a_pass(
    storage: Storage,
    smtp: SmtpServer,
    tmp_path: Path,
    workers: list[OutboxWorker],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A pass claims many mails at once; sent one by one through a slow relay, the last ones
    # would still be waiting when their claim lapses, and the other worker would send them too.
    monkeypatch.setattr(mail_worker, "LEASE", 1.5)
    monkeypatch.setattr(mail_worker, "MAIL_DEADLINE", 0.7)
    slow_acceptance(smtp, 0.25)
    tickets = [await open_ticket(storage) for _ in range(10)]
    config = config_for(tmp_path, smtp)
    for _ in range(2):
        await start_worker(storage, config, workers)
    await eventually(lambda: len(smtp.inbox.envelopes) >= 10, within=20)
    await asyncio.sleep(2)  # every claim has lapsed: nothing more arrives
    for worker in workers:
        await worker.stop()
    ids = smtp.inbox.message_ids()
    assert len(ids) == len(set(ids)) == 10
    assert {i.split(".")[0].removeprefix("<ticket-") for i in ids} == {
        t.number for t in tickets
    }
    assert {m.state for m in await all_mail(storage)} == {"sent"}


async def test_a_mail_that_left_while_the_database_went_away_is_not_sent_again(
    smtp: SmtpServer, tmp_path: Path, workers: list[OutboxWorker], own_postgres: PostgresServer
) -> None:
    """The database stops between the server's 250 and the worker's record of it: the mail
    stays claimed until the record lands, and no pass sends it a second time."""
    from storage.postgres import PostgresStorage

    storage = await PostgresStorage.open(own_postgres.url("helpdesk"))
    try:
        ticket = await open_ticket(storage)
        accept = smtp.inbox.handle_DATA

        async def accept_then_lose_the_database(*args: Any) -> str:
            answer = await accept(*args)
            await asyncio.to_thread(own_postgres.halt)
            return answer

        smtp.inbox.handle_DATA = accept_then_lose_the_database  # type: ignore[method-assign]
        worker = await start_worker(storage, config_for(tmp_path, smtp), workers)
        worker.wake()
        await eventually(lambda: len(smtp.inbox.envelopes) == 1)
        smtp.inbox.handle_DATA = accept  # type: ignore[method-assign]
        await asyncio.sleep(3)  # passes go by while the database is out
        await asyncio.to_thread(own_postgres.start)

        await eventually(first_mail_sent(storage, ticket.number), within=30)
        await asyncio.sleep(2)
        assert len(smtp.inbox.envelopes) == 1
    finally:
        for worker in workers:
            await worker.stop()
        await storage.close()


async def test_a_mail_that_left_as_the_disk_filled_is_not_sent_again(
    smtp: SmtpServer,
    storage: Storage,
    tmp_path: Path,
    workers: list[OutboxWorker],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The disk fills between the server's 250 and the worker's record of it: the mail stays
    claimed until the record lands, no pass sends it again, and the admin reads one line a
    pass, not a traceback."""
    from storage import tinyfile

    ticket = await open_ticket(storage)
    full = False
    write = tinyfile.atomic_write

    def disk(path: Path, data: bytes, **options: Any) -> None:
        if full:
            raise OSError(errno.ENOSPC, "No space left on device")
        write(path, data, **options)

    monkeypatch.setattr(tinyfile, "atomic_write", disk)
    accept = smtp.inbox.handle_DATA

    async def accept_then_fill_the_disk(*args: Any) -> str:
        nonlocal full
        answer = await accept(*args)
        full = True
        return answer

    smtp.inbox.handle_DATA = accept_then_fill_the_disk  # type: ignore[method-assign]
    caplog.set_level(logging.INFO, logger="web.desk.mail")
    worker = await start_worker(storage, config_for(tmp_path, smtp), workers)
    worker.wake()
    await eventually(lambda: len(smtp.inbox.envelopes) == 1)
    smtp.inbox.handle_DATA = accept  # type: ignore[method-assign]
    await asyncio.sleep(3)  # passes go by while the disk is full
    assert len(smtp.inbox.envelopes) == 1
    full = False

    await eventually(first_mail_sent(storage, ticket.number), within=30)
    await asyncio.sleep(1)
    assert len(smtp.inbox.envelopes) == 1
    mine = [r for r in caplog.records if r.name == "web.desk.mail"]
    assert any("No space left on device" in r.getMessage() for r in mine)
    assert all(r.exc_info is None for r in mine)


async def test_a_retry_left_ahead_by_a_clock_that_went_back_waits_no_longer(
    storage: Storage, smtp: SmtpServer, tmp_path: Path, workers: list[OutboxWorker]
) -> None:
    # A try set for a minute later, then the clock stepped back an hour (NTP, a restored
    # virtual machine): the mail must not wait that hour, CONTRACT.md promises 60 s at most.
    ticket = await open_ticket(storage)
    an_hour_ahead = (datetime.now(UTC) + timedelta(hours=1, minutes=1)).isoformat(
        timespec="milliseconds"
    )

    def stepped_back(t: Ticket) -> None:
        t.outbox[0].next_try_at = an_hour_ahead

    await storage.tickets.update(ticket.number, stepped_back, touch=False)
    worker = await start_worker(storage, config_for(tmp_path, smtp), workers)
    worker.wake()
    await eventually(lambda: len(smtp.inbox.envelopes) == 1)
    await worker.stop()


async def test_a_claim_holds_against_a_worker_whose_clock_is_a_little_behind(
    storage: Storage,
) -> None:
    # Processes on several machines: one claims a mail for LEASE, and another whose clock is
    # half a second behind (NTP keeps them that close, not closer) looks a moment later. The
    # claim's end is then further ahead of its clock than LEASE: it must not read it as left
    # by a clock that stepped back, or it sends the mail the first is sending.
    ticket = await open_ticket(storage)
    now = datetime.now(UTC)

    def stamp(moment: datetime) -> str:
        return moment.isoformat(timespec="milliseconds")

    def due_a_while_ago(t: Ticket) -> None:
        t.outbox[0].next_try_at = stamp(now - timedelta(seconds=10))

    await storage.tickets.update(ticket.number, due_a_while_ago, touch=False)
    first = await storage.outbox.claim(
        "a", stamp(now), 10, mail_worker.LEASE, horizon=mail_worker.HORIZON
    )
    assert len(first) == 1
    behind = stamp(now + timedelta(seconds=0.1) - timedelta(seconds=0.5))
    assert await storage.outbox.claim(
        "b", behind, 10, mail_worker.LEASE, horizon=mail_worker.HORIZON
    ) == []


async def test_a_refused_mail_is_parked_after_its_tries_and_can_be_requeued(
    storage: Storage,
    smtp: SmtpServer,
    tmp_path: Path,
    workers: list[OutboxWorker],
) -> None:
    smtp.inbox.refuse.add("nobody@example.org")
    worker = await start_worker(storage, config_for(tmp_path, smtp, mail_max_attempts=3), workers)
    bad = await open_ticket(storage, email_address="nobody@example.org")
    good = await open_ticket(storage)
    worker.wake()
    await eventually(lambda: has_parked(storage, 1))

    [(number, parked)] = await storage.outbox.parked()
    assert number == bad.number
    assert parked.state == "parked" and parked.attempts == 3
    assert parked.reason == "refused"  # the console says it in the admin's language
    assert parked.last_error == "550 5.1.1 No such mailbox"  # the server's words, as detail
    # The refusal was about that mail only: the other one went.
    assert smtp.inbox.envelopes[0].rcpt_tos == [good.email]
    assert len(smtp.inbox.envelopes) == 1
    assert worker.server_problem is None

    # An admin fixes whatever was wrong and tries again.
    smtp.inbox.refuse.clear()
    assert await worker.requeue(bad.number, parked.id)
    await eventually(lambda: len(smtp.inbox.envelopes) == 2)

    await eventually(first_mail_sent(storage, bad.number))
    assert await storage.outbox.parked() == []
    stored = await storage.tickets.get(bad.number)
    assert stored is not None and stored.outbox[0].reason is None
    assert not await worker.requeue(bad.number, parked.id)  # nothing parked any more
    unknown = "000000" if await storage.tickets.summary("000000") is None else "000001"
    assert not await worker.requeue(unknown, parked.id)
    await worker.stop()


@pytest.mark.parametrize("stage", ["RCPT", "DATA"])
async def test_a_try_later_answer_waits_and_never_parks_the_mail(
    storage: Storage,
    smtp: SmtpServer,
    tmp_path: Path,
    workers: list[OutboxWorker],
    stage: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Greylisting answers 450 for minutes: more 4xx answers than mail_max_attempts, and the
    # mail must still go once the server takes it. Only a 5xx refusal counts against a mail.
    address = "greylisted@example.org"
    if stage == "RCPT":
        smtp.inbox.defer_rcpt[address] = 5
    else:
        smtp.inbox.defer_data = 5
    worker = await start_worker(storage, config_for(tmp_path, smtp, mail_max_attempts=2), workers)
    ticket = await open_ticket(storage, email_address=address)
    worker.wake()
    await eventually(lambda: len(smtp.inbox.envelopes) == 1)
    await worker.stop()

    assert smtp.inbox.deferred == 5
    # IT reads in the log that the mailbox says "later", once, not once a try
    deferrals = [r.getMessage() for r in caplog.records if "deferred by the server" in r.msg]
    assert len(deferrals) == 1 and ticket.number in deferrals[0]
    assert smtp.inbox.envelopes[0].rcpt_tos == [address]
    stored = await storage.tickets.get(ticket.number)
    assert stored is not None
    [mail] = stored.outbox
    assert (mail.state, mail.attempts) == ("sent", 0)
    assert mail.last_error is not None and mail.last_error.startswith("45")
    assert await storage.outbox.parked() == []
    assert worker.server_problem is None


async def test_mailboxes_that_say_later_do_not_hold_up_the_others(
    storage: Storage, smtp: SmtpServer, tmp_path: Path, workers: list[OutboxWorker]
) -> None:
    # Six full mailboxes answer 452 for ever; a seventh student must still get their mail.
    for n in range(6):
        smtp.inbox.defer_rcpt[f"full{n}@example.org"] = 10_000
        await open_ticket(storage, email_address=f"full{n}@example.org")
    worker = await start_worker(storage, config_for(tmp_path, smtp), workers)
    good = await open_ticket(storage, email_address="ok@example.org")
    worker.wake()
    await eventually(lambda: len(smtp.inbox.envelopes) == 1)
    assert smtp.inbox.envelopes[0].rcpt_tos == ["ok@example.org"]
    assert worker.server_problem is None  # the server works: nothing to warn the admin about
    await worker.stop()
    stored = await storage.tickets.get(good.number)
    assert stored is not None and stored.outbox[0].state == "sent"


async def test_a_server_closing_the_session_is_an_outage_the_admin_sees(
    storage: Storage, smtp: SmtpServer, tmp_path: Path, workers: list[OutboxWorker]
) -> None:
    # 421 to RCPT is not about that mailbox: the server takes no mail now. The queue waits
    # for it, and the console says so, rather than each mail asking again on its own.
    smtp.inbox.closing = True
    tickets = [await open_ticket(storage) for _ in range(3)]
    worker = await start_worker(storage, config_for(tmp_path, smtp), workers)
    await eventually(lambda: (worker.server_problem or "").startswith("421 4.7.0"))
    smtp.inbox.closing = False
    await eventually(lambda: len(smtp.inbox.envelopes) == 3)
    await worker.stop()
    assert worker.server_problem is None
    assert sorted(smtp.inbox.message_ids()) == sorted(
        f"<ticket-{t.number}.{t.outbox[0].id}@helpdesk.unipg.test>" for t in tickets
    )
    assert [(m.state, m.attempts) for m in await all_mail(storage)] == [("sent", 0)] * 3


async def test_a_mail_deferred_for_days_is_parked_for_the_admin(
    storage: Storage, smtp: SmtpServer, tmp_path: Path, workers: list[OutboxWorker]
) -> None:
    smtp.inbox.defer_rcpt["full@example.org"] = 10_000
    ticket = await open_ticket(storage, email_address="full@example.org")

    def three_days_ago(t: Ticket) -> None:
        t.outbox[0].created_at = "2026-01-01T00:00:00.000+00:00"

    await storage.tickets.update(ticket.number, three_days_ago)
    worker = await start_worker(storage, config_for(tmp_path, smtp), workers)
    worker.wake()
    await eventually(lambda: has_parked(storage, 1))
    await worker.stop()
    [(number, mail)] = await storage.outbox.parked()
    assert number == ticket.number and mail.reason == "deferred"
    assert mail.last_error is not None and mail.last_error.startswith("45")


async def test_a_mail_to_our_own_address_is_parked_not_sent(
    storage: Storage,
    smtp: SmtpServer,
    tmp_path: Path,
    workers: list[OutboxWorker],
) -> None:
    worker = await start_worker(storage, config_for(tmp_path, smtp), workers)
    loop_ticket = await open_ticket(storage, email_address=SENDER.upper())
    await open_ticket(storage)
    worker.wake()

    async def one_sent_one_parked() -> bool:
        return len(smtp.inbox.envelopes) == 1 and await has_parked(storage, 1)

    await eventually(one_sent_one_parked)
    await worker.stop()
    [(number, parked)] = await storage.outbox.parked()
    assert number == loop_ticket.number
    assert (parked.reason, parked.attempts, parked.last_error) == ("own_address", 0, None)
    assert SENDER not in smtp.inbox.envelopes[0].rcpt_tos


async def test_a_mail_that_cannot_be_built_is_parked_at_once_with_the_error(
    storage: Storage,
    smtp: SmtpServer,
    tmp_path: Path,
    workers: list[OutboxWorker],
) -> None:
    ticket = await open_ticket(storage)

    def broken_subject(t: Ticket) -> None:
        t.outbox[0].subject = "Richiesta\nBcc: everyone@example.org"  # a header injection

    await storage.tickets.update(ticket.number, broken_subject)
    worker = await start_worker(storage, config_for(tmp_path, smtp), workers)
    await eventually(lambda: has_parked(storage, 1))
    await worker.stop()
    [(_, parked)] = await storage.outbox.parked()
    assert (parked.reason, parked.attempts) == ("unbuildable", 0)
    assert parked.last_error is not None and parked.last_error.startswith("ValueError")
    assert smtp.inbox.envelopes == []


async def test_an_unexpected_failure_counts_and_parks_as_failed(
    storage: Storage,
    smtp: SmtpServer,
    tmp_path: Path,
    workers: list[OutboxWorker],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def send_message(self: aiosmtplib.SMTP, *args: Any, **options: Any) -> None:
        raise RuntimeError("something nobody expected")

    monkeypatch.setattr(aiosmtplib.SMTP, "send_message", send_message)
    config = config_for(tmp_path, smtp)
    worker = await start_worker(storage, config, workers)
    await open_ticket(storage)
    worker.wake()
    await eventually(lambda: has_parked(storage, 1))
    await worker.stop()
    [(_, parked)] = await storage.outbox.parked()
    assert (parked.reason, parked.attempts) == ("failed", 3)
    assert parked.last_error == "RuntimeError: something nobody expected"


# --- without an SMTP server -----------------------------------------------------------------


async def test_without_smtp_each_mail_becomes_an_eml_file(
    storage: Storage,
    tmp_path: Path,
    workers: list[OutboxWorker],
) -> None:
    config = config_for(tmp_path, None)
    worker = await start_worker(storage, config, workers)
    outbox = config.data_dir / "outbox"
    assert worker.outbox_dir == outbox
    tickets = [await open_ticket(storage, lang=lang) for lang in ("it", "en")]
    worker.wake()
    await eventually(lambda: len(list(outbox.glob("*.eml"))) == 2)
    await worker.stop()

    files = sorted(outbox.iterdir())
    assert [f.suffix for f in files] == [".eml", ".eml"]  # no temporary file left behind
    for path, ticket in zip(files, tickets, strict=True):
        mail = ticket.outbox[0]
        assert path.name.endswith(f"-{ticket.number}-{mail.id}.eml")
        assert path.name[:8].isdigit()  # created_at first: the folder lists in queue order
        assert os.stat(path).st_mode & 0o077 == 0  # personal data: the service account only
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert message["Subject"] == mail.subject
        assert message["Auto-Submitted"] == "auto-generated"
        assert message["Reply-To"] == SENDER
        assert message.get_content_type() == "multipart/alternative"
    assert {m.state for m in await all_mail(storage)} == {"sent"}


async def test_a_restart_before_the_sent_mark_rewrites_the_same_file(
    storage: Storage,
    tmp_path: Path,
    workers: list[OutboxWorker],
) -> None:
    # At-least-once: a mail written but not yet marked sent is written again, over itself.
    ticket = await open_ticket(storage)
    mail = ticket.outbox[0]
    config = config_for(tmp_path, None)
    outbox = config.data_dir / "outbox"
    outbox.mkdir()
    first = build_message(ticket.number, mail, config)
    name = eml_name(ticket.number, mail)
    (outbox / name).write_bytes(first.as_bytes())
    worker = await start_worker(storage, config, workers)

    async def all_sent() -> bool:
        return await queued(storage) == []

    await eventually(all_sent)
    await worker.stop()
    assert [p.name for p in outbox.iterdir()] == [name]
    again = email.message_from_bytes((outbox / name).read_bytes(), policy=email.policy.default)
    assert again["Message-ID"] == first["Message-ID"] and again["Date"] == first["Date"]


async def test_a_mail_written_as_its_ticket_is_erased_does_not_outlive_it(
    storage: Storage,
    tmp_path: Path,
    workers: list[OutboxWorker],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worker claims a mail, then writes it: an erasure (or the retention sweep) that lands
    in between deletes the ticket's .eml files before this one exists, and nothing would ever
    delete it after."""
    config = config_for(tmp_path, None)
    outbox = config.data_dir / "outbox"
    anonymiser = Anonymiser(storage, lambda _: asyncio.Lock(), outbox)
    ticket = await open_ticket(storage, email_address="mario.rossi@example.org")
    kept = await open_ticket(storage)
    transmit = OutboxWorker._transmit

    async def erased_meanwhile(
        worker: OutboxWorker, number: str, mail: OutboxMail, message: EmailMessage
    ) -> None:
        if number == ticket.number:
            assert await anonymiser.anonymise(number, utcnow())
        await transmit(worker, number, mail, message)

    monkeypatch.setattr(OutboxWorker, "_transmit", erased_meanwhile)
    worker = await start_worker(storage, config, workers)

    async def settled() -> bool:
        return await queued(storage) == []

    await eventually(settled)
    await worker.stop()
    assert [p.name for p in outbox.iterdir()] == [eml_name(kept.number, kept.outbox[0])]


async def test_stop_is_prompt_and_idempotent(
    storage: Storage,
    tmp_path: Path,
    workers: list[OutboxWorker],
) -> None:
    worker = await start_worker(storage, config_for(tmp_path, None), workers)
    started = time.monotonic()
    await worker.stop()
    await worker.stop()
    assert time.monotonic() - started < 1.0


# --- TLS and login ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, trusted through SSL_CERT_FILE by the tests."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def login(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"helpdesk",
        b"s3cret",
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535


async def test_implicit_tls_and_login_follow_the_settings(
    storage: Storage,
    tmp_path: Path,
    workers: list[OutboxWorker],
    certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cert, key = certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client verifies the server, as always
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    # aiosmtpd offers AUTH on an implicit-TLS port only with auth_require_tls off (it looks
    # for STARTTLS); the connection is TLS all the same, as the handler checks.
    server = SmtpServer(
        free_port(), ssl_context=context, authenticator=login, auth_require_tls=False
    )
    await server.start()
    try:
        config = config_for(
            tmp_path, server, smtp_security="tls", smtp_user="helpdesk", smtp_password="wrong"
        )
        worker = await start_worker(storage, config, workers)
        await open_ticket(storage)
        worker.wake()
        # A refused login is our settings' fault, not the mail's: it waits, it is not parked.
        await eventually(lambda: "535" in (worker.server_problem or ""))
        await worker.stop()
        assert await storage.outbox.parked() == [] and server.inbox.envelopes == []

        worker = await start_worker(storage, replace(config, smtp_password="s3cret"), workers)
        await eventually(lambda: len(server.inbox.envelopes) == 1)
        await worker.stop()
        assert server.inbox.secure == [(True, True)]
    finally:
        await server.stop()


@pytest.mark.parametrize(
    ("security", "use_tls", "start_tls"),
    [("none", False, False), ("starttls", False, True), ("tls", True, False)],
)
async def test_the_settings_reach_the_smtp_client(
    storage: Storage,
    tmp_path: Path,
    workers: list[OutboxWorker],
    monkeypatch: pytest.MonkeyPatch,
    security: str,
    use_tls: bool,
    start_tls: bool,
) -> None:
    # STARTTLS against aiosmtpd 1.4.6 hangs on Python 3.11 (its sslproto use predates the
    # 3.11 rewrite; see bebleo/smtpdfix#227), so this checks what we ask of aiosmtplib.
    calls: list[dict[str, Any]] = []

    class Client:
        def __init__(self, **options: Any) -> None:
            calls.append(options)

        async def connect(self) -> None:
            return None

        async def send_message(self, message: EmailMessage, **options: Any) -> None:
            calls.append(options)

        async def quit(self) -> None:
            return None

        def close(self) -> None:
            return None

    monkeypatch.setattr(aiosmtplib, "SMTP", Client)
    config = config_for(
        tmp_path,
        SmtpServer(2525),
        smtp_host="smtp.unipg.test",
        smtp_security=security,
        smtp_user="helpdesk",
        smtp_password="s3cret",
    )
    worker = await start_worker(storage, config, workers)
    ticket = await open_ticket(storage)
    worker.wake()
    await eventually(lambda: len(calls) == 2)
    await worker.stop()
    assert calls == [
        {
            "hostname": "smtp.unipg.test",
            "port": 2525,
            "username": "helpdesk",
            "password": "s3cret",
            "use_tls": use_tls,
            "start_tls": start_tls,
            "timeout": 2.0,
        },
        {"sender": SENDER, "recipients": [ticket.email], "timeout": mail_worker.REPLY_TIMEOUT},
    ]
