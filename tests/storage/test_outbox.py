from __future__ import annotations

from storage import Backend, OutboxMail, Ticket

from .conftest import Place, build

NOW = "2026-01-01T01:00:00.000+00:00"
LATER = "2026-01-01T01:05:00.000+00:00"


def mail(mail_id: str, **fields: object) -> OutboxMail:
    values: dict[str, object] = {"to": "s@example.org", "subject": "s", "text": "t", "html": "h"}
    values.update(fields)
    return OutboxMail(id=mail_id, kind="opened", **values)  # type: ignore[arg-type]


def at(second: int, hour: int = 0) -> str:
    return f"2026-01-01T{hour:02d}:00:{second:02d}.000+00:00"


def ids(claimed: list[tuple[str, OutboxMail]]) -> list[str]:
    return [m.id for _, m in claimed]


async def test_due_mail_is_claimed_oldest_first_and_only_once(storage: Backend) -> None:
    t1 = await storage.tickets.create(build(outbox=[mail("a", next_try_at=at(2))]))
    t2 = await storage.tickets.create(build(outbox=[mail("b", next_try_at=at(1))]))
    await storage.tickets.create(build(outbox=[mail("c", next_try_at=at(0, hour=9))]))
    first = await storage.outbox.claim("w1", NOW, 10, 120)
    assert [(n, m.id) for n, m in first] == [(t2.number, "b"), (t1.number, "a")]
    assert first[0][1] == mail("b", next_try_at=at(1), created_at=first[0][1].created_at)
    # Claimed: nobody else gets them until their lease ends (before the 09:00 mail is due).
    assert await storage.outbox.claim("w2", NOW, 10, 120) == []
    assert await storage.outbox.next_due() == "2026-01-01T01:02:00.000+00:00"


async def test_a_claim_lapses_when_its_lease_ends(storage: Backend) -> None:
    await storage.tickets.create(build(outbox=[mail("a", next_try_at=at(1))]))
    assert ids(await storage.outbox.claim("dead", NOW, 10, 60)) == ["a"]
    assert await storage.outbox.next_due() == "2026-01-01T01:01:00.000+00:00"
    assert await storage.outbox.claim("w2", "2026-01-01T01:00:59.000+00:00", 10, 60) == []
    assert ids(await storage.outbox.claim("w2", "2026-01-01T01:01:00.000+00:00", 10, 60)) == ["a"]


async def test_what_a_clock_that_went_back_left_ahead_is_due_within_the_horizon(
    storage: Backend,
) -> None:
    # At 02:00 a mail was set to try again at 02:01 and another worker claimed one until 02:02;
    # then the clock stepped back an hour. Nobody schedules more than 120 s ahead: both are due.
    await storage.tickets.create(build(outbox=[mail("a", next_try_at=at(1, hour=2))]))
    await storage.tickets.create(build(outbox=[mail("b", next_try_at=at(0, hour=2))]))
    assert ids(await storage.outbox.claim("dead", at(0, hour=2), 1, 120)) == ["b"]
    back = at(0, hour=1)
    assert await storage.outbox.claim("w", back, 10, 120) == []  # without a horizon: waits
    claimed = await storage.outbox.claim("w", back, 10, 120, horizon=120)
    assert sorted(ids(claimed)) == ["a", "b"]
    # within the horizon, a next try and a live claim still wait
    await storage.outbox.release("w")
    assert ids(await storage.outbox.claim("w2", at(0, hour=2), 10, 60, horizon=120)) == ["b"]
    assert await storage.outbox.claim("w3", at(0, hour=2), 10, 60, horizon=120) == []


async def test_limit_and_release(storage: Backend) -> None:
    for i in range(3):
        await storage.tickets.create(build(outbox=[mail(f"m{i}", next_try_at=at(i))]))
    assert ids(await storage.outbox.claim("w1", NOW, 2, 120)) == ["m0", "m1"]
    assert ids(await storage.outbox.claim("w2", NOW, 2, 120)) == ["m2"]
    await storage.outbox.release("w1")  # w1 paused before sending: the others may take them
    claimed = await storage.outbox.claim("w3", NOW, 5, 120)
    assert ids(claimed) == ["m0", "m1"]
    # m0 left, but the database went away before w3 wrote it down: it stays w3's
    await storage.outbox.release("w3", keep=[(claimed[0][0], "m0")])
    assert ids(await storage.outbox.claim("w4", NOW, 5, 120)) == ["m1"]


async def test_settle_records_the_result_and_ends_the_claim(storage: Backend) -> None:
    ticket = await storage.tickets.create(build(outbox=[mail("a", next_try_at=at(1))]))
    [(number, claimed)] = await storage.outbox.claim("w1", NOW, 10, 120)

    def failed(m: OutboxMail) -> None:
        m.attempts += 1
        m.last_error = "450 greylisted"
        m.next_try_at = "2026-01-01T01:00:30.000+00:00"

    stored = await storage.outbox.settle(number, claimed.id, failed)
    assert stored is not None and stored.attempts == 1 and stored.last_error == "450 greylisted"
    # The claim ended with the settlement: due again at its next try, not at the lease's end.
    assert await storage.outbox.next_due() == "2026-01-01T01:00:30.000+00:00"
    [(_, again)] = await storage.outbox.claim("w2", LATER, 10, 120)
    assert again == stored

    def sent(m: OutboxMail) -> None:
        m.state = "sent"
        m.sent_at = LATER

    await storage.outbox.settle(number, "a", sent)
    assert await storage.outbox.next_due() is None
    assert await storage.outbox.claim("w3", LATER, 10, 120) == []
    kept = await storage.tickets.get(ticket.number)
    assert kept is not None and kept.outbox[0].state == "sent"  # sent mail stays as history
    assert kept.updated_at == ticket.updated_at  # bookkeeping is no news to the queue
    assert await storage.outbox.settle(number, "nope", sent) is None


async def test_mail_queued_by_an_update_is_stored_with_it(storage: Backend) -> None:
    ticket = await storage.tickets.create(build())

    def reply(t: Ticket) -> None:
        t.status = "awaiting_user"
        t.outbox.append(mail("r1", next_try_at=at(5)))

    await storage.tickets.update(ticket.number, reply)
    [(number, queued)] = await storage.outbox.claim("w1", NOW, 10, 120)
    assert number == ticket.number and queued.id == "r1"
    stored = await storage.tickets.get(ticket.number)
    assert stored is not None and stored.status == "awaiting_user"
    assert [m.id for m in stored.outbox] == ["r1"]


async def test_parked_mail_is_listed_and_requeued_by_an_update(storage: Backend) -> None:
    t1 = await storage.tickets.create(
        build(outbox=[mail("x", created_at=at(2), next_try_at=at(2)), mail("y", created_at=at(3))])
    )
    t2 = await storage.tickets.create(build(outbox=[mail("z", created_at=at(1))]))
    for number, mail_id in ((t1.number, "y"), (t2.number, "z")):
        await storage.outbox.claim("w1", NOW, 10, 120)

        def park(m: OutboxMail) -> None:
            m.state = "parked"
            m.reason = "refused"

        await storage.outbox.settle(number, mail_id, park)
    await storage.outbox.release("w1")
    assert [(n, m.id) for n, m in await storage.outbox.parked()] == [
        (t2.number, "z"),
        (t1.number, "y"),
    ]

    def requeue(t: Ticket) -> None:
        t.outbox[1].state = "queued"
        t.outbox[1].reason = None
        t.outbox[1].next_try_at = at(4)

    await storage.tickets.update(t1.number, requeue, touch=False)
    assert [m.id for _, m in await storage.outbox.parked()] == ["z"]
    assert sorted(ids(await storage.outbox.claim("w2", LATER, 10, 120))) == ["x", "y"]


async def test_a_restart_keeps_the_queue(place: Place) -> None:
    storage = await place.open()
    ticket = await storage.tickets.create(build(outbox=[mail("a", next_try_at=at(1))]))
    await storage.close()
    storage = await place.open()
    try:
        assert [(n, m.id) for n, m in await storage.outbox.claim("w", NOW, 5, 60)] == [
            (ticket.number, "a")
        ]
    finally:
        await storage.close()
