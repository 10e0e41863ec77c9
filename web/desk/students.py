"""What a student may do without an account: open tickets within the limits, and find a ticket
again with email + number, their only credential."""

from __future__ import annotations

from datetime import datetime

from bot.validate import Valid, email_forms, plain_email, validate_number
from storage import Ticket
from web.desk.errors import ApiError
from web.desk.limits import Counter, email_key, refund_all, take_all
from web.desk.services import Services

# How far the clock of the process that issued a token may be behind the one that created its
# ticket (several processes on one database).
CLOCK_ALLOWANCE = 60.0
# Between a ticket's creation and the token its student is given with it.
OPENING = 5.0


def creation_limits(services: Services, ip: str, email: str) -> list[tuple[Counter, str]]:
    limits = services.limits
    return [(limits.create_per_ip, ip), (limits.create_per_email, email_key(email))]


def email_address(email: str, ip: str) -> str:
    return f"{email_key(email)}\n{ip}"  # no address holds a line break


async def opened_from(services: Services, email: str, ip: str) -> None:
    """A ticket opened from this address: its student's look-ups from here are trusted."""
    await services.limits.trusted_lookups.add(email_address(email, ip))


async def lookup(services: Services, email: str, number: str, ip: str) -> Ticket:
    """Email + number, the student's only credential. Wrong email and wrong number get one
    and the same answer, in the same time (both are checked in memory); failures are
    throttled per address, per number and per email. Each attempt counts before it is
    checked, and a success gives it back, so a burst of concurrent guesses cannot slip past
    the limit.

    Per email there are two ceilings. Addresses that email has opened or found a ticket from
    lately share a hard one (100 failures an hour, the ASVS bound: guessing one email's
    numbers still takes years); every other address also meets a tighter one, which a
    stranger typing a student's email with wrong numbers exhausts without reaching the hard
    ceiling, so the student, from where they opened the ticket, is not locked out. Opening a
    ticket proves no mailbox, so trust waives only the tighter ceiling, never the others."""
    limits = services.limits
    clean = validate_number(number)
    wanted = plain_email(email).lower()  # as the ticket kept it (validate_email)
    pair = email_address(wanted, ip)
    pairs = [
        (limits.lookup_failures_per_number, clean.value if isinstance(clean, Valid) else number),
        (limits.lookup_failures_per_email_address, pair),
        (limits.lookup_failures_per_ip, ip),
        (limits.lookup_failures_per_email, email_key(wanted)),
    ]
    if not await limits.trusted_lookups.has(pair):
        pairs.append((limits.lookup_failures_per_email_untrusted, email_key(wanted)))
    await take_all(pairs)
    summary = (
        await services.storage.tickets.summary(clean.value) if isinstance(clean, Valid) else None
    )
    ticket = None
    if summary is not None and not summary.anonymised and summary.email in email_forms(email):
        ticket = await services.storage.tickets.get(summary.number)
    if ticket is None:
        raise ApiError(404, "lookup_failed")
    await refund_all(pairs)
    await limits.trusted_lookups.add(pair)
    return ticket


async def opened_by(services: Services, token: object) -> str | None:
    """The number of the ticket a token opens: a valid signature, and a ticket that still holds
    its student's data (after an erasure or the retention sweep, a token issued before opens
    nothing, although it has not expired), created before the token was issued. A token older
    than its ticket opened another ticket with that number: one created after the backup that
    a restore went back to, and lost with it, so that its number was free to be drawn again
    for another student (docs/backup.md)."""
    granted = services.signer.grant(token) if isinstance(token, str) else None
    if granted is None:
        return None
    number, issued = granted
    summary = await services.storage.tickets.summary(number)
    if summary is None or summary.anonymised:
        return None
    created = datetime.fromisoformat(summary.created_at).timestamp()
    if summary.email_since is not None:
        # The email an operator corrected may have been a stranger's, who looked the ticket up
        # with it: a token issued before the correction opens it no more, but for the one its
        # student was given as they opened it. A token counts whole seconds: one of the
        # correction's second may be from before it (a look-up a second later opens it).
        corrected = int(datetime.fromisoformat(summary.email_since).timestamp())
        if created + OPENING < issued <= corrected:
            return None
    return number if issued + CLOCK_ALLOWANCE >= created else None
