from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from typing import Any

import pytest

from storage import Assignment, Backend, Message, OutboxMail, Storage, Ticket, TicketNotFound
from storage import tickets as tickets_module
from storage.queue import QueueQuery
from storage.ticket_index import needles

from .conftest import Place, build


async def test_a_created_ticket_reads_back_whole(storage: Backend) -> None:
    created = await storage.tickets.create(build())
    assert len(created.number) == 6 and created.number.isdigit()
    again = await storage.tickets.get(created.number)
    assert again == created


async def test_a_hundred_concurrent_creations_get_a_hundred_numbers(storage: Backend) -> None:
    made = await asyncio.gather(*(storage.tickets.create(build()) for _ in range(100)))
    numbers = {t.number for t in made}
    assert len(numbers) == 100
    assert {s.number for s in await storage.tickets.summaries()} == numbers
    assert await storage.tickets.count() == 100


async def test_numbers_kept_are_never_drawn_again(
    place: Place, monkeypatch: pytest.MonkeyPatch
) -> None:
    first_store = await place.open()
    first = await first_store.tickets.create(build())
    await first_store.close()
    # The next store must skip the number already kept even when chance draws it first.
    draws = iter([int(first.number), int(first.number), 7])
    monkeypatch.setattr(secrets, "randbelow", lambda _: next(draws))
    storage = await place.open()
    try:
        second = await storage.tickets.create(build())
    finally:
        await storage.close()
    assert second.number == "000007"


async def test_a_ticket_file_is_never_replaced_by_a_new_ticket(folder: Storage) -> None:
    first = await folder.tickets.create(build())
    # Even if the index were wrong, creation refuses to overwrite an existing file.
    folder.tickets._index._summaries.pop(first.number)  # noqa: SLF001
    with pytest.raises(FileExistsError):
        await folder.tickets._write(first, new=True)  # noqa: SLF001


async def test_unknown_and_malformed_numbers_are_none(storage: Backend) -> None:
    assert await storage.tickets.get("123456") is None
    assert await storage.tickets.get("../../etc") is None
    assert await storage.tickets.get("١٢٣٤٥٦") is None  # Arabic-Indic digits are not digits here
    assert await storage.tickets.summary("123456") is None
    assert await storage.tickets.summary("../../etc") is None


async def test_update_returns_the_changed_ticket_and_the_change_result(storage: Backend) -> None:
    created = await storage.tickets.create(build())

    def close(ticket: Ticket) -> str:
        ticket.status = "closed"
        ticket.operator = "lbianchi"
        return "done"

    ticket, result = await storage.tickets.update(created.number, close)
    assert result == "done"
    assert ticket.updated_at >= created.updated_at
    stored = await storage.tickets.get(created.number)
    assert stored is not None and stored.status == "closed" and stored.operator == "lbianchi"
    summary = await storage.tickets.summary(created.number)
    assert summary is not None and summary.status == "closed" and summary.operator == "lbianchi"


async def test_concurrent_appends_to_one_ticket_all_survive(storage: Backend) -> None:
    created = await storage.tickets.create(build())

    async def append(i: int) -> None:
        message = Message(id=f"r{i}", author="operator", name="Op", body=f"risposta {i}")
        await storage.tickets.update(created.number, lambda t: t.messages.append(message))

    await asyncio.gather(*(append(i) for i in range(60)))
    stored = await storage.tickets.get(created.number)
    assert stored is not None
    assert {m.id for m in stored.messages} == {"m0"} | {f"r{i}" for i in range(60)}


async def test_a_failing_change_writes_nothing(storage: Backend) -> None:
    created = await storage.tickets.create(build())

    def broken(ticket: Ticket) -> None:
        ticket.status = "closed"
        raise RuntimeError("validation failed")

    with pytest.raises(RuntimeError):
        await storage.tickets.update(created.number, broken)
    assert await storage.tickets.get(created.number) == created
    assert (await storage.tickets.summary(created.number)).status == "open"  # type: ignore[union-attr]


async def test_update_of_a_missing_ticket_raises(storage: Backend) -> None:
    with pytest.raises(TicketNotFound):
        await storage.tickets.update("000000", lambda t: None)
    with pytest.raises(TicketNotFound):
        await storage.tickets.update("../../x", lambda t: None)


async def test_a_write_under_way_finishes_and_is_indexed_when_its_caller_is_cancelled(
    folder: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = folder
    created = await storage.tickets.create(build())
    writing = threading.Event()
    real_write = tickets_module._write_file  # noqa: SLF001

    def slow_write(*args: Any) -> None:
        writing.set()
        time.sleep(0.1)
        real_write(*args)

    monkeypatch.setattr(tickets_module, "_write_file", slow_write)
    message = Message(id="late", author="operator", name="Op", body="ultima parola")
    task = asyncio.create_task(
        storage.tickets.update(created.number, lambda t: t.messages.append(message))
    )
    await asyncio.to_thread(writing.wait)
    task.cancel()
    # A second update queued behind the cancelled one must see its message: the lock is held
    # until the file is in place.
    second = Message(id="next", author="operator", name="Op", body="e poi")
    monkeypatch.setattr(tickets_module, "_write_file", real_write)
    after, _ = await storage.tickets.update(created.number, lambda t: t.messages.append(second))
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [m.id for m in after.messages] == ["m0", "late", "next"]
    stored = await storage.tickets.get(created.number)
    assert stored is not None and [m.id for m in stored.messages] == ["m0", "late", "next"]


async def test_summaries_newest_first_search_and_limits(storage: Backend) -> None:
    a = await storage.tickets.create(build(created_at="2026-01-01T10:00:00.000+00:00"))
    b = await storage.tickets.create(
        build(
            email="anna.verdi@example.org",
            name="Verdi Anna",
            created_at="2026-01-03T10:00:00.000+00:00",
            messages=[Message(id="m", author="student", name="Anna", body="Il PIN SPID è scaduto")],
        )
    )
    c = await storage.tickets.create(build(created_at="2026-01-02T10:00:00.000+00:00"))
    tickets = storage.tickets
    assert [s.number for s in await tickets.summaries()] == [b.number, c.number, a.number]

    async def search(text: str, **more: Any) -> list[str]:
        page = await tickets.queue(QueueQuery(text=text, **more))
        return [s.number for s in page.tickets]

    assert await search("pin spid") == [b.number]
    assert await search("VERDI") == [b.number]
    assert await search("è scaduto") == [b.number]
    assert await search(a.number) == [a.number]
    assert await search("rossi") == [c.number, a.number]
    assert await search("rossi", limit=1) == [c.number]
    assert await search("   ") == [b.number, c.number, a.number]  # no search at all
    # matched as text, not as a pattern
    assert await search("%") == []
    assert await search("pin_spid") == []
    assert await search("pin%scaduto") == []
    assert await search("\\") == []
    # a number the text names, found whatever its text says
    assert await search("#" + a.number.lstrip("0"), number=a.number) == [a.number]
    mine = await tickets.of_email("MARIO.ROSSI@example.org")
    assert [s.number for s in mine] == [c.number, a.number]


async def test_internal_notes_are_searchable(storage: Backend) -> None:
    created = await storage.tickets.create(build())
    note = Message(id="n", author="operator", name="Op", body="chiedi a segreteria", internal=True)
    await storage.tickets.update(created.number, lambda t: t.messages.append(note))
    found = await storage.tickets.queue(QueueQuery(text="segreteria"))
    assert [s.number for s in found.tickets] == [created.number]


async def test_a_restart_reads_everything_back(place: Place) -> None:
    storage = await place.open()
    made = [await storage.tickets.create(build(name=f"Studente {i}")) for i in range(30)]
    await storage.tickets.update(made[0].number, lambda t: setattr(t, "status", "closed"))
    before = await storage.tickets.summaries()
    await storage.close()
    storage = await place.open()
    try:
        assert await storage.tickets.summaries() == before
        for ticket in made[1:]:
            assert await storage.tickets.get(ticket.number) == ticket
    finally:
        await storage.close()


async def test_a_ticket_keeps_its_changes_of_hands_across_a_restart(place: Place) -> None:
    storage = await place.open()
    ticket = await storage.tickets.create(build())
    handed = [Assignment("lbianchi", "lbianchi"), Assignment("mverdi", "lbianchi"),
              Assignment(None, "aneri")]
    await storage.tickets.update(ticket.number, lambda t: t.assignments.extend(handed))
    await storage.close()
    storage = await place.open()
    try:
        again = await storage.tickets.get(ticket.number)
        assert again is not None and again.assignments == handed
    finally:
        await storage.close()
    # a record written before assignments were kept reads as a ticket that has none
    older = {k: v for k, v in again.to_dict().items() if k != "assignments"}
    assert Ticket.from_dict(older).assignments == []


async def test_a_field_of_a_newer_version_survives_an_older_one_s_write(place: Place) -> None:
    # Processes restarted one by one: an older one changes a ticket that a newer one wrote.
    storage = await place.open()
    ticket = await storage.tickets.create(build())
    newer = {**ticket.to_dict(), "triage": {"level": 2}}
    await storage.tickets.update(
        ticket.number, lambda t: setattr(t, "unknown", Ticket.from_dict(newer).unknown)
    )
    await storage.close()
    storage = await place.open()
    try:
        await storage.tickets.update(ticket.number, lambda t: setattr(t, "status", "closed"))
        again = await storage.tickets.get(ticket.number)
        assert again is not None and again.status == "closed"
        assert again.to_dict()["triage"] == {"level": 2}
        assert "unknown" not in again.to_dict()
    finally:
        await storage.close()


async def test_each_ticket_file_is_a_plain_tinydb_database(folder: Storage) -> None:
    storage = folder
    from tinydb import TinyDB

    from storage.tinyfile import AtomicJSONStorage

    created = await storage.tickets.create(build())
    path = storage.layout.ticket(created.number)
    assert path.parent.name == created.number[:2]
    assert json.loads(path.read_bytes())["ticket"]["1"]["number"] == created.number
    with TinyDB(path, storage=AtomicJSONStorage) as db:
        assert db.table("ticket").get(doc_id=1)["email"] == created.email


async def test_creation_works_where_hard_links_are_missing(
    folder: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = folder
    import errno
    import os

    def no_links(*args: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    created = await storage.tickets.create(build())
    assert await storage.tickets.get(created.number) == created
    storage.tickets._index._summaries.pop(created.number)  # noqa: SLF001
    with pytest.raises(FileExistsError):
        await storage.tickets._write(created, new=True)  # noqa: SLF001


async def test_bookkeeping_updates_keep_updated_at(storage: Backend) -> None:
    ticket = await storage.tickets.create(build())
    before = ticket.updated_at

    def note_mail(t: Ticket) -> None:
        t.outbox.append(
            OutboxMail(id="m1", to=t.email, subject="s", text="t", html="h", kind="opened")
        )

    await asyncio.sleep(0.01)
    kept, _ = await storage.tickets.update(ticket.number, note_mail, touch=False)
    assert kept.updated_at == before
    touched, _ = await storage.tickets.update(ticket.number, note_mail)
    assert touched.updated_at > before


async def test_any_text_round_trips(storage: Backend) -> None:
    odd = 'NUL \x00, "quotes", back\\slash, emoji 🎓, àèìòù, \u2028, %_'
    created = await storage.tickets.create(
        build(name=odd, messages=[Message(id="m", author="student", name=odd, body=odd)])
    )
    assert await storage.tickets.get(created.number) == created
    found = await storage.tickets.queue(QueueQuery(text="emoji 🎓, àèì"))
    assert [s.number for s in found.tickets] == [created.number]


async def test_the_queue_filters_counts_sorts_and_pages(storage: Backend) -> None:
    from storage.queue import SORTS, page_of

    shapes = [
        ("open", "immatricolazioni", "scadenze", None),
        ("open", "immatricolazioni", "tasse", "lbianchi"),
        ("awaiting_user", "immatricolazioni", "scadenze", "lbianchi"),
        ("closed", "immatricolazioni", "scadenze", "mverdi"),
        ("open", "trasferimenti", "scadenze", None),
        ("closed", "trasferimenti", "scadenze", None),
    ]
    numbers = []
    for status, topic, subtopic, operator in shapes * 2:
        ticket = await storage.tickets.create(
            build(status=status, topic=topic, subtopic=subtopic, operator=operator)
        )
        numbers.append(ticket.number)
        await asyncio.sleep(0.002)  # distinct times, for the sorts
    # answered later: "updated" and "waiting" see a different order than "newest"
    await storage.tickets.update(numbers[0], lambda t: None)

    def anonymise(ticket: Ticket) -> None:
        ticket.anonymised_at = "2026-01-01T00:00:00.000+00:00"

    await storage.tickets.update(numbers[1], anonymise)

    page = await storage.tickets.queue(QueueQuery(
        statuses=frozenset({"open"}), topic="immatricolazioni", holders=frozenset({"", "lbianchi"})
    ))
    assert page.counts == {"open": 3, "awaiting_user": 2, "closed": 0}
    assert page.total == 3  # the anonymised one is nobody's to find
    assert [s.number for s in page.tickets] == [numbers[7], numbers[6], numbers[0]]

    # Tickets move between statuses and holders: the queue's own bookkeeping follows them.
    def close(ticket: Ticket) -> None:
        ticket.status = "closed"

    def take(ticket: Ticket) -> None:
        ticket.operator = "mverdi"

    await storage.tickets.update(numbers[2], close)
    await storage.tickets.update(numbers[4], take)
    await storage.tickets.update(numbers[4], close)

    everything = await storage.tickets.summaries()
    for query in [
        QueueQuery(),
        QueueQuery(limit=3),
        QueueQuery(statuses=frozenset({"open", "closed"}), subtopic="scadenze"),
        QueueQuery(holders=frozenset({""})),
        QueueQuery(holders=frozenset({"mverdi", "lbianchi"}), limit=2),
        *(QueueQuery(sort=sort) for sort in SORTS),
    ]:
        # the same answer as the in-memory reference, on every storage
        assert await storage.tickets.queue(query) == page_of(everything, query), query


async def test_the_search_ignores_accents(storage: Backend) -> None:
    garcia = await storage.tickets.create(build(name="García Núñez Lucía", email="lg@example.org"))
    muller = await storage.tickets.create(
        build(messages=[Message(id="m", author="student", name="Jan", body="Sono Jan Müller")])
    )

    async def search(text: str) -> list[str]:
        return [s.number for s in (await storage.tickets.queue(QueueQuery(text=text))).tickets]

    assert await search("garcia nunez") == [garcia.number]
    assert await search("GARCÍA") == [garcia.number]
    assert await search("muller") == [muller.number]
    assert await search("Müller") == [muller.number]
    # a Persian name's zero-width joiner, typed on its keyboard, is no letter to search for
    rezaei = await storage.tickets.create(build(name="Rezaei Fateme\u200czahra", email="r@e.org"))
    assert await search("fatemezahra") == [rezaei.number]


def at(minute: int, second: int = 0) -> str:
    return f"2026-03-02T10:{minute:02d}:{second:02d}.000+00:00"


async def test_the_waiting_order_is_how_long_a_student_has_waited_for_an_answer(
    storage: Backend,
) -> None:
    """"Fermi da più tempo": from the student's first message the office has not answered in
    public. A reminder, an internal note or an assignment moves no ticket; a reply sends it
    behind every ticket still waiting; the student's next message makes it wait from there."""
    tickets = storage.tickets

    async def opened(minute: int, **more: Any) -> str:
        question = Message(id="q", author="student", name="S", body="Domanda", at=at(minute))
        made = await tickets.create(build(created_at=at(minute), messages=[question], **more))
        return made.number

    async def add(number: str, author: str, minute: int, second: int = 0, **more: Any) -> None:
        message = Message(id=f"{author}{minute}{second}", author=author,  # type: ignore[arg-type]
                          name="X", body="...", at=at(minute, second), **more)
        await tickets.update(number, lambda t: t.messages.append(message))

    async def waiting() -> list[str]:
        page = await tickets.queue(QueueQuery(statuses=frozenset({"open", "awaiting_user"}),
                                              sort="waiting"))
        return [s.number for s in page.tickets]

    first, second, third, later = [await opened(m) for m in (0, 1, 2, 5)]
    asked = await opened(3, status="awaiting_user")  # waits on the student, not on us
    assert await waiting() == [first, second, third, later, asked]

    in_order = [first, second, third, later, asked]
    await add(first, "student", 3)  # "Sollecito": still the first
    assert await waiting() == in_order
    await add(first, "operator", 4, internal=True)  # "guardo io dopo": no answer
    assert await waiting() == in_order
    await tickets.update(first, lambda t: setattr(t, "operator", "lbianchi"))  # taken
    await tickets.update(first, lambda t: setattr(t, "operator", "mverdi"))  # passed on
    assert await waiting() == in_order

    await add(first, "operator", 4)  # answered: behind every ticket still waiting on us
    assert await waiting() == [second, third, later, asked, first]

    await add(first, "student", 4, 30)  # the student writes again: waits from that message
    assert await waiting() == [second, third, first, later, asked]


async def test_the_search_finds_every_word_in_any_order(storage: Backend) -> None:
    """The form asks "Cognome e nome": students write their names both ways round."""
    gatti = await storage.tickets.create(build(name="Gatti Nicolò", email="ng@example.org"))
    rossi = await storage.tickets.create(build(name="Rossi Mario"))

    async def search(text: str) -> list[str]:
        return [s.number for s in (await storage.tickets.queue(QueueQuery(text=text))).tickets]

    assert await search("Nicolò Gatti") == [gatti.number]
    assert await search("Gatti Nicolò") == [gatti.number]
    assert await search("  nicolo   GATTI ") == [gatti.number]
    assert await search("gatti scade") == [gatti.number]  # a name and a word of the request
    # every word must be found in the same ticket: a name nobody has finds nobody
    assert await search("Nicolò Rossi") == []
    assert await search("Gatti Mario") == []
    assert await search("rossi") == [rossi.number]


async def test_the_search_finds_a_phone_by_its_digits(storage: Backend) -> None:
    mine = await storage.tickets.create(build(phone="+393331000019", email="p@example.org"))
    other = await storage.tickets.create(build(phone="+393331000018"))

    async def search(text: str, number: str = "") -> list[str]:
        page = await storage.tickets.queue(QueueQuery(text=text, number=number))
        return [s.number for s in page.tickets]

    # the national number, as written or spaced, and the stored international form
    for typed in ("3331000019", "333 1000019", "333-100-0019", "+39 333 1000019",
                  "+393331000019", " 39 3331000019 "):
        assert await search(typed) == [mine.number], typed
    assert await search("333 100001") == [other.number, mine.number]
    assert await search("3331000017") == []
    # a bare number or "#412" still names that ticket (the console passes it as `number`)
    bare = mine.number.lstrip("0") or "0"
    assert mine.number in await search(bare, number=mine.number)
    assert await search("#" + bare, number=mine.number) == [mine.number]


def test_a_long_run_of_digits_is_read_at_once() -> None:
    # An operator's search is read on the event loop: 20,000 digits and a letter took a second
    # to tell apart from a phone with the pattern of before (quadratic); now microseconds.
    started = time.perf_counter()
    assert needles("1" * 20_000 + "x") == [["1" * 20_000 + "x"]]
    assert time.perf_counter() - started < 0.25
    assert needles("+39 333") == [["39333"], ["+39", "333"]]
    assert needles(" - + ") == [["-", "+"]]  # marks, not a phone


async def test_numbers_written_in_a_message_are_still_found_as_typed(storage: Backend) -> None:
    # An academic year or a date in the request: digits and dashes, but no phone
    asked = Message(id="m", author="student", name="S",
                    body="Iscrizione per l'anno 2024-25, rata del 15 03")
    year = await storage.tickets.create(build(phone="+393330000001", messages=[asked]))
    await storage.tickets.create(build(phone="+393330000002", email="o@example.org"))

    async def search(text: str) -> list[str]:
        return [s.number for s in (await storage.tickets.queue(QueueQuery(text=text))).tickets]

    assert await search("2024-25") == [year.number]
    assert await search("15 03") == [year.number]
    # and a text with nothing to look for (marks, joiners, spaces) finds nothing
    for nothing in ("\u200d", "\u0301", " \x00 "):
        assert await search(nothing) == [], repr(nothing)


async def test_the_search_reads_every_apostrophe_as_one(storage: Backend) -> None:
    dangelo = await storage.tickets.create(build(name="D'Angelo Maria", email="d@example.org"))
    # typed on a phone: the stored name has the typographic one
    damico = await storage.tickets.create(
        build(name="D’Amico Luca", email="l@example.org",
              messages=[Message(id="m", author="student", name="L", body="l‘iscrizione")])
    )

    async def search(text: str) -> list[str]:
        return [s.number for s in (await storage.tickets.queue(QueueQuery(text=text))).tickets]

    for typed in ("d’angelo", "D‘Angelo", "d´angelo", "d`angelo", "d'angelo", "maria d’angelo"):
        assert await search(typed) == [dangelo.number], typed
    assert await search("d'amico") == [damico.number]
    assert await search("l'iscrizione") == [damico.number]
