"""The outbox worker: sends the notification mails queued in the tickets' outboxes.
Why one module: its answers to failure (outage, "later", refusal, park) are one state machine.

The queue is durable because it lives in storage (Ticket.outbox, written with the event it
announces); this worker claims the mail that is due (`storage.outbox.claim`: no other worker,
in this process or another, sends it meanwhile), sends, and records what happened. With
HELPDESK_SMTP_HOST it speaks SMTP through aiosmtplib; without, it writes each mail as an .eml
file to DATA_DIR/outbox/ (the embedded default, and what developers read).

Delivery is at-least-once: a mail is marked sent only after the server accepted it, so a crash
in between sends it again once its claim lapses (at the next start, or by another process;
with the same Message-ID, which most mailboxes fold into one). The other order could lose a
mail; a duplicate notification is the lesser harm.

What a failure means depends on who failed:
- the server cannot be reached, refuses us (connection, TLS, login, sender), or closes the
  session (421, whichever command it answers): an outage, not the mail's fault. The whole
  queue waits, tried again with growing back-off, never more than 60 s apart (CONTRACT.md
  section 2), however long the outage lasts. These tries do not count against the mail: an
  outage never parks mail.
- the server answers "later" to this mail (another 4xx, e.g. greylisting's 450 to RCPT, which
  lasts minutes): this mail tries again a minute later, the others go on (`_deferred`).
- the server refuses this mail for good (a 5xx to its recipient or content), or sending it
  fails unexpectedly: it is tried again with growing back-off and parked after
  `mail_max_attempts` such tries, where the console shows it (`storage.outbox.parked()`;
  `OutboxWorker.requeue` tries it again).
- the mail can never be sent (addressed to our own sender, which would start a mail loop): it is
  parked at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import random
import secrets
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import aiosmtplib

from storage import (
    Backend,
    DatabaseUnavailable,
    OutboxMail,
    StorageError,
    Ticket,
    TicketNotFound,
    refused_by_disk,
    utcnow,
)
from storage.files import atomic_write, ensure_dir, sweep_temp
from storage.models import ParkReason
from web.config import Config
from web.desk.mail_message import (
    REFUSED,
    UNREACHABLE,
    address,
    build_message,
    closing,
    delete_mail_files,
    describe,
    eml_name,
    recipient,
    temporary,
)

log = logging.getLogger(__name__)

MAX_GAP = 60.0  # seconds between two tries of a mail, at most (CONTRACT.md section 2)
# A mailbox that keeps answering "later" (full, greylisted for ever) is given up after this,
# and the admin sees the mail parked.
DEFER_LIMIT = timedelta(hours=72)
SEND_TIMEOUT = 10.0  # connecting, TLS, login: a stuck server must not hold the queue for long
# From MAIL FROM to the server's answer to the message: far longer, because a relay scanning
# mail at the enrolment deadline may take its time to answer, and giving up before it does
# sends a mail it has already taken again, at every try (RFC 5321 4.5.3.2 allows it 10 min).
REPLY_TIMEOUT = 60.0
MAIL_DEADLINE = 120.0  # one mail, from connecting to the server's answer, at most
IDLE_POLL = 30.0  # look at the queue now and then even without a wake()
STOP_GRACE = 5.0  # stop() lets a send in progress finish (and be recorded) for this long
CLAIM = 20  # mails claimed per pass
# A claimed mail is this worker's for so long: far more than sending it takes, and the wait
# before another worker sends the mail of one that died. A pass starts no mail whose claim
# could lapse before MAIL_DEADLINE, or another worker would send it too.
LEASE = 300.0
# Nothing here schedules a try or a claim further ahead: one further ahead was written before
# the clock went back (an NTP step, a virtual machine restored), and waiting for the clock to
# catch up would hold that mail for as long as the step. Plus the clocks of several machines
# apart (NTP keeps them within milliseconds, a neglected one within seconds): a lease another
# machine took a moment ago ends that much further ahead of this one's clock, and is live.
CLOCK_SPREAD = 30.0
HORIZON = max(MAX_GAP, LEASE) + CLOCK_SPREAD

Backoff = Callable[[int], float]

# For the log (the console translates `reason` itself).
PARKED_AT_ONCE: dict[ParkReason, str] = {
    "own_address": "the recipient is the help desk's own sender address (HELPDESK_MAIL_FROM): "
    "not sent, to avoid a mail loop",
    "unbuildable": "the mail cannot be built",
    "refused": "refused",
    "failed": "failed",
}


def backoff(attempts: int) -> float:
    """Seconds to wait after the attempts-th failed try: 2, 4, 8, 16, 32, then 60, each less
    up to 20% at random so that mails failing together do not come back in lockstep."""
    return min(MAX_GAP, 2.0**attempts) * random.uniform(0.8, 1.0)


def mail_settings_warnings(config: Config) -> list[str]:
    """Defaults that do for a developer's outbox folder, and make real mail useless: links
    to this machine's loopback address, a sender at localhost (refused, or filed as spam)."""
    found = []
    host = urlsplit(config.public_url).hostname or ""
    if host == "localhost" or _loopback(host):
        found.append(
            f"the links in the mails point to {config.public_url}, which students cannot "
            "open; set HELPDESK_PUBLIC_URL to the address they use"
        )
    if address(config.mail_from).endswith("@localhost"):
        found.append(
            f"mail goes out from {config.mail_from}, which mail servers refuse or file as "
            "spam; set HELPDESK_MAIL_FROM to an address of the university's domain"
        )
    return found


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _later(seconds: float) -> str:
    # The same shape as storage.utcnow(), so that the queue's text comparisons hold.
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="milliseconds")


def storage_away(error: BaseException) -> bool:
    """The database out of reach or the disk refusing writes: nothing is wrong with the mail,
    and the same write can be tried again once they are back."""
    return isinstance(error, DatabaseUnavailable) or refused_by_disk(error)


class OutboxWorker:
    """One background task that sends due mail, then sleeps until the next mail is due or
    wake() is called. Start it after opening storage, stop it before closing storage."""

    def __init__(
        self,
        storage: Backend,
        config: Config,
        *,
        backoff: Backoff = backoff,
        timeout: float = SEND_TIMEOUT,
        reply_timeout: float = REPLY_TIMEOUT,
    ) -> None:
        self._storage = storage
        self._config = config
        self._backoff = backoff
        self._timeout = timeout
        self._reply_timeout = reply_timeout
        self._sender = address(config.mail_from)
        self._outbox = config.data_dir / "outbox"
        # Whose claims these are: unique across processes, machines and restarts.
        self._worker = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        # (number, mail id) -> when it left: sent, not yet written down (_record_sent)
        self._unrecorded: dict[tuple[str, str], str] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        # While the server is unreachable the whole queue waits until this loop time.
        self._outages = 0
        self._paused_until = 0.0
        self.server_problem: str | None = None  # the outage in progress, for the console

    @property
    def outbox_dir(self) -> Path | None:
        """Where mail goes without an SMTP server; None when one is configured."""
        return None if self._config.smtp_host else self._outbox

    async def start(self) -> None:
        if self._task is not None:
            return
        cfg = self._config
        if cfg.smtp_host:
            if cfg.smtp_user and cfg.smtp_security == "none":
                log.warning(
                    "outbox: SMTP login without TLS sends the password in clear; "
                    "set HELPDESK_SMTP_SECURITY=starttls or tls"
                )
            for warning in mail_settings_warnings(cfg):
                log.warning("outbox: %s", warning)
            log.info(
                "outbox: mail goes to %s:%d (%s)", cfg.smtp_host, cfg.smtp_port, cfg.smtp_security
            )
        else:
            await asyncio.to_thread(self._prepare_outbox)
            log.info("outbox: no SMTP server set, mail is written to %s", self._outbox)
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="outbox-worker")

    def _prepare_outbox(self) -> None:
        ensure_dir(self._outbox)
        # Half-written files from a crash: we own the data folder (storage holds its lock).
        sweep_temp([self._outbox])

    async def stop(self) -> None:
        """Let a send in progress finish and be recorded (a few seconds at most), then end.
        Idempotent."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        done, _ = await asyncio.wait({task}, timeout=STOP_GRACE)
        if not done:
            # Cut off mid-send: that mail is still queued and goes again at the next start.
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    def wake(self) -> None:
        """Mail was queued: send it now rather than at the next poll."""
        self._wake.set()

    async def requeue(self, number: str, mail_id: str) -> bool:
        """An admin's "try again" for a parked mail, with a fresh set of tries, to the
        student's address as it is now: one given up on at a mistyped address, since corrected
        by an operator, must not go to whoever owns the wrong one. False when there is no such
        parked mail."""

        def change(ticket: Ticket) -> bool:
            for mail in ticket.outbox:
                if mail.id == mail_id and mail.state == "parked":
                    mail.to = ticket.email
                    mail.state = "queued"
                    mail.attempts = 0
                    mail.reason = None
                    mail.next_try_at = utcnow()
                    return True
            return False

        try:
            _, found = await self._storage.tickets.update(number, change, touch=False)
        except TicketNotFound:
            return False
        if found:
            self.wake()
        return found

    # the loop

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()  # before reading the queue: a wake() during the pass counts
            try:
                await self._send_due()
                delay = await self._sleep_time()
            except Exception as e:
                # Never end the worker: the mail stays queued and the next pass tries again.
                # An outage of the database or a full disk is no fault here: one line a pass,
                # not a traceback.
                if storage_away(e):
                    log.warning("outbox: %s; trying again shortly", e)
                else:
                    log.exception("outbox: unexpected failure; trying again shortly")
                delay = self._delay(1)
                self._pause(delay)
            if self._stopping:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    async def _send_due(self) -> None:
        outbox = self._storage.outbox
        try:
            for (number, mail_id), sent_at in list(self._unrecorded.items()):
                if not await self._record_sent(number, mail_id, sent_at):
                    return
            loop = asyncio.get_running_loop()
            claimed_at = loop.time()
            claimed = await outbox.claim(self._worker, utcnow(), CLAIM, LEASE, horizon=HORIZON)
            for number, mail in claimed:
                if self._stopping or self._paused():
                    return
                if loop.time() - claimed_at > LEASE - MAIL_DEADLINE:
                    return  # a slow server: the rest is released, and claimed afresh
                await self._deliver(number, mail)
        finally:
            # What this pass did not get to (stopping, an outage) goes back to the queue now,
            # not when the claims lapse; but a mail that left without being written down
            # stays claimed, or the next pass, here or in another process, would send it again.
            await outbox.release(self._worker, keep=self._unrecorded.keys())

    async def _sleep_time(self) -> float:
        delay = IDLE_POLL
        due = await self._storage.outbox.next_due()
        if due is not None:
            until = (datetime.fromisoformat(due) - datetime.now(UTC)).total_seconds()
            delay = min(delay, until)
        if self._unrecorded:  # its own claim would keep it out of next_due until it lapses
            delay = min(delay, self._delay(1))
        delay = max(delay, self._paused_until - asyncio.get_running_loop().time())
        return max(0.0, delay)

    def _delay(self, attempts: int) -> float:
        return max(0.0, min(MAX_GAP, self._backoff(attempts)))

    def _pause(self, seconds: float) -> None:
        self._paused_until = asyncio.get_running_loop().time() + seconds

    def _paused(self) -> bool:
        return asyncio.get_running_loop().time() < self._paused_until

    # one mail

    async def _deliver(self, number: str, mail: OutboxMail) -> None:
        if address(mail.to) == self._sender:
            # A ticket opened with our own address would mail itself, and an autoresponder on
            # that mailbox could answer in a loop (osTicket's mail-loop DoS).
            await self._park(number, mail, "own_address", None)
            return
        try:
            message = build_message(number, mail, self._config)
        except (ValueError, TypeError) as e:  # e.g. a header that cannot be encoded
            await self._park(number, mail, "unbuildable", describe(e))
            return
        try:
            relay = await self._transmit(number, mail, message)
        except Exception as e:
            await self._failed(number, mail, e)
            return
        with contextlib.closing(relay) if relay is not None else contextlib.nullcontext():
            self._server_ok()
            # The mail has left. If the process dies before this write lands, the mail is
            # sent again at the next start: at-least-once, never lost.
            log.info("outbox: %s mail %s of ticket %s sent", mail.kind, mail.id, number)
            await self._record_sent(number, mail.id, utcnow())
            if relay is not None:
                await self._goodbye(relay)

    async def _record_sent(self, number: str, mail_id: str, sent_at: str) -> bool:
        """Write down that a mail left. Whether it was: when the database is out of reach or
        the disk full, the mail is kept in _unrecorded, still claimed (its lease runs LEASE
        seconds), and written down before anything else is sent: released, every pass would
        send it to the student again."""

        def sent(m: OutboxMail) -> None:
            m.state = "sent"
            m.sent_at = sent_at

        try:
            stored = await self._record(number, mail_id, sent)
        except Exception as e:
            if not storage_away(e):
                raise
            self._unrecorded[(number, mail_id)] = sent_at
            log.warning("outbox: mail %s of ticket %s left, but the storage did not take it"
                        " down (%s): it stays claimed until it does", mail_id, number, e)
            self._pause(self._delay(1))
            return False
        self._unrecorded.pop((number, mail_id), None)
        folder = self.outbox_dir
        if stored is None and folder is not None:
            await self._forget_if_anonymised(folder, number)
        return True

    async def _forget_if_anonymised(self, folder: Path, number: str) -> None:
        """An erasure or the retention that emptied the ticket while its mail was being written
        to the outbox folder deleted the ticket's files before this one existed: it goes now,
        or it would keep the student's address and words for ever. (Mail that left by SMTP is
        in the student's own mailbox.)"""
        with contextlib.suppress(StorageError):
            ticket = await self._storage.tickets.get(number)
            if ticket is not None and ticket.anonymised_at is not None:
                await asyncio.to_thread(delete_mail_files, folder, number)

    async def _transmit(
        self, number: str, mail: OutboxMail, message: EmailMessage
    ) -> aiosmtplib.SMTP | None:
        """Hand the mail over: to the outbox folder (None), or to the relay, whose session comes
        back open once it took the mail, to say goodbye after the mail is written down."""
        cfg = self._config
        if not cfg.smtp_host:
            await asyncio.to_thread(
                atomic_write, self._outbox / eml_name(number, mail), message.as_bytes()
            )
            return None
        client = aiosmtplib.SMTP(
            hostname=cfg.smtp_host,
            port=cfg.smtp_port,
            username=cfg.smtp_user,
            password=cfg.smtp_password,
            use_tls=cfg.smtp_security == "tls",
            # "none" means plain: no opportunistic upgrade that could fail on a local relay's
            # self-signed certificate.
            start_tls=cfg.smtp_security == "starttls",
            timeout=self._timeout,
        )
        try:
            async with asyncio.timeout(MAIL_DEADLINE):
                await client.connect()
                await client.send_message(
                    message,
                    sender=self._sender,
                    recipients=[recipient(mail.to)],
                    timeout=self._reply_timeout,
                )
        except BaseException:
            client.close()
            raise
        return client

    async def _goodbye(self, relay: aiosmtplib.SMTP) -> None:
        """The relay took the mail, and it is written down as sent: the goodbye is a courtesy.
        A relay slow or gone by then, or a stop that cuts the goodbye short, sends nothing
        again."""
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self._timeout):
                await relay.quit()

    async def _failed(self, number: str, mail: OutboxMail, error: Exception) -> None:
        if isinstance(error, REFUSED) and not closing(error):
            # The server works; it is this mail (this mailbox) it refuses, now or for good.
            self._server_ok()
            if temporary(error):
                await self._deferred(number, mail, describe(error))
            else:
                await self._refused(number, mail, describe(error), "refused")
        elif isinstance(error, UNREACHABLE):  # the server cannot be used: the queue waits
            # (a 421, even to one recipient, is the server closing: it is one of these)
            await self._unreachable(number, mail, describe(error))
        else:
            log.error(
                "outbox: mail %s of ticket %s failed unexpectedly", mail.id, number, exc_info=error
            )
            await self._refused(number, mail, describe(error), "failed")

    def _server_ok(self) -> None:
        if self._outages:
            # with no SMTP server set, what failed was the outbox folder (a full disk, say)
            if self._config.smtp_host:
                log.info("outbox: the mail server answers again")
            else:
                log.info("outbox: the outbox folder %s takes mail again", self._outbox)
        self._outages = 0
        self.server_problem = None

    async def _unreachable(self, number: str, mail: OutboxMail, error: str) -> None:
        self._outages += 1
        wait = self._delay(self._outages)
        self._pause(wait)
        self.server_problem = error
        log.warning("outbox: cannot deliver (%s); the queue waits %.1f s", error, wait)
        next_try = _later(wait)

        def failed(m: OutboxMail) -> None:
            # Not counted among its tries: after an outage of any length each mail still has
            # all of them. last_error shows the console why it waits.
            m.last_error = error
            m.next_try_at = next_try

        await self._record(number, mail.id, failed)

    async def _deferred(self, number: str, mail: OutboxMail, error: str) -> None:
        """A 4xx for this mail only (greylisting, a full mailbox): this mail tries again a
        minute later without holding up the others and without spending its tries, until
        it is DEFER_LIMIT old."""
        too_old = datetime.fromisoformat(mail.created_at) < datetime.now(UTC) - DEFER_LIMIT
        next_try = _later(self._delay(99))  # the longest gap: a minute, as CONTRACT allows

        def deferred(m: OutboxMail) -> None:
            m.last_error = error
            if too_old:
                m.state = "parked"
                m.reason = "deferred"
            else:
                m.next_try_at = next_try

        await self._record(number, mail.id, deferred)
        if too_old:
            log.error(
                "outbox: mail %s of ticket %s parked, deferred for too long: %s",
                mail.id,
                number,
                error,
            )
        elif mail.last_error != error:
            # Once per new answer, not a line a minute for days: IT learns that a mailbox
            # has been saying "later", and why, before the mail is given up.
            log.warning(
                "outbox: mail %s of ticket %s deferred by the server, tried again every "
                "minute: %s",
                mail.id,
                number,
                error,
            )

    async def _refused(self, number: str, mail: OutboxMail, error: str, reason: ParkReason) -> None:
        limit = self._config.mail_max_attempts
        delay = self._delay

        def failed(m: OutboxMail) -> None:
            m.attempts += 1
            m.last_error = error
            if m.attempts >= limit:
                m.state = "parked"
                m.reason = reason
            else:
                m.next_try_at = _later(delay(m.attempts))

        stored = await self._record(number, mail.id, failed)
        if stored is not None and stored.state == "parked":
            log.error(
                "outbox: mail %s of ticket %s parked after %d tries: %s",
                mail.id,
                number,
                stored.attempts,
                error,
            )
        else:
            log.warning("outbox: mail %s of ticket %s refused: %s", mail.id, number, error)

    async def _park(
        self, number: str, mail: OutboxMail, reason: ParkReason, error: str | None
    ) -> None:
        """Parked at once: no try could ever send this mail. The console says why in the
        admin's language (reason); error is the detail, if there is one."""

        def parked(m: OutboxMail) -> None:
            m.state = "parked"
            m.reason = reason
            m.last_error = error

        await self._record(number, mail.id, parked)
        log.error(
            "outbox: mail %s of ticket %s parked: %s%s",
            mail.id,
            number,
            PARKED_AT_ONCE[reason],
            f" ({error})" if error else "",
        )

    async def _record(
        self, number: str, mail_id: str, change: Callable[[OutboxMail], None]
    ) -> OutboxMail | None:
        """Apply change to the stored mail, in the ticket's own update (never over a change
        the web layer makes to the same ticket meanwhile), and end this worker's claim. A
        database out of reach is not this mail's problem: it goes to the caller (_run waits it
        out; _record_sent keeps the mail claimed)."""
        try:
            stored = await self._storage.outbox.settle(number, mail_id, change)
        except DatabaseUnavailable:
            raise
        except StorageError as e:
            # Closed storage or a vanished ticket: pause rather than spin on the same mail.
            log.error("outbox: cannot record mail %s of ticket %s: %s", mail_id, number, e)
            self._pause(self._delay(1))
            return None
        return stored
