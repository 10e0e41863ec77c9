from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from storage import Message, OutboxMail, Storage, Ticket, TicketNotFound
from storage import tickets as tickets_module

from .conftest import build


async def test_a_created_ticket_reads_back_whole(storage: Storage) -> None:
    created = await storage.tickets.create(build())
    assert len(created.number) == 6 and created.number.isdigit()
    again = await storage.tickets.get(created.number)
    assert again == created


async def test_a_hundred_concurrent_creations_get_a_hundred_numbers(storage: Storage) -> None:
    made = await asyncio.gather(*(storage.tickets.create(build()) for _ in range(100)))
    numbers = {t.number for t in made}
    assert len(numbers) == 100
    assert {s.number for s in storage.tickets.summaries()} == numbers


async def test_numbers_on_disk_are_never_drawn_again(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with await Storage.open(data_dir) as storage:
        first = await storage.tickets.create(build())
    # The next store must skip the number already on disk even when chance draws it first.
    draws = iter([int(first.number), int(first.number), 7])
    monkeypatch.setattr(secrets, "randbelow", lambda _: next(draws))
    async with await Storage.open(data_dir) as storage:
        second = await storage.tickets.create(build())
    assert second.number == "000007"


async def test_a_ticket_file_is_never_replaced_by_a_new_ticket(storage: Storage) -> None:
    first = await storage.tickets.create(build())
    # Even if the index were wrong, creation refuses to overwrite an existing file.
    storage.tickets._index._summaries.pop(first.number)  # noqa: SLF001
    with pytest.raises(FileExistsError):
        await storage.tickets._write(first, new=True)  # noqa: SLF001


async def test_unknown_and_malformed_numbers_are_none(storage: Storage) -> None:
    assert await storage.tickets.get("123456") is None
    assert await storage.tickets.get("../../etc") is None
    assert await storage.tickets.get("١٢٣٤٥٦") is None  # Arabic-Indic digits are not digits here


async def test_update_returns_the_changed_ticket_and_the_change_result(storage: Storage) -> None:
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
    summary = storage.tickets.summary(created.number)
    assert summary is not None and summary.status == "closed" and summary.operator == "lbianchi"


async def test_concurrent_appends_to_one_ticket_all_survive(storage: Storage) -> None:
    created = await storage.tickets.create(build())

    async def append(i: int) -> None:
        message = Message(id=f"r{i}", author="operator", name="Op", body=f"risposta {i}")
        await storage.tickets.update(created.number, lambda t: t.messages.append(message))

    await asyncio.gather(*(append(i) for i in range(60)))
    stored = await storage.tickets.get(created.number)
    assert stored is not None
    assert {m.id for m in stored.messages} == {"m0"} | {f"r{i}" for i in range(60)}


async def test_a_failing_change_writes_nothing(storage: Storage) -> None:
    created = await storage.tickets.create(build())
    path = storage.layout.ticket(created.number)
    before = path.read_bytes()

    def broken(ticket: Ticket) -> None:
        ticket.status = "closed"
        raise RuntimeError("validation failed")

    with pytest.raises(RuntimeError):
        await storage.tickets.update(created.number, broken)
    assert path.read_bytes() == before
    assert storage.tickets.summary(created.number).status == "open"  # type: ignore[union-attr]


async def test_update_of_a_missing_ticket_raises(storage: Storage) -> None:
    with pytest.raises(TicketNotFound):
        await storage.tickets.update("000000", lambda t: None)


async def test_a_write_under_way_finishes_and_is_indexed_when_its_caller_is_cancelled(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
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


async def test_summaries_newest_first_search_and_limits(storage: Storage) -> None:
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
    assert [s.number for s in storage.tickets.summaries()] == [b.number, c.number, a.number]
    assert [s.number for s in storage.tickets.search("pin spid")] == [b.number]
    assert [s.number for s in storage.tickets.search("VERDI")] == [b.number]
    assert [s.number for s in storage.tickets.search(a.number)] == [a.number]
    assert len(storage.tickets.search("rossi", limit=1)) == 1
    assert storage.tickets.search("   ") == []
    mine = storage.tickets.of_email("MARIO.ROSSI@example.org")
    assert [s.number for s in mine] == [c.number, a.number]


async def test_internal_notes_are_searchable(storage: Storage) -> None:
    created = await storage.tickets.create(build())
    note = Message(id="n", author="operator", name="Op", body="chiedi a segreteria", internal=True)
    await storage.tickets.update(created.number, lambda t: t.messages.append(note))
    assert [s.number for s in storage.tickets.search("segreteria")] == [created.number]


def mail(mail_id: str, **fields: object) -> OutboxMail:
    values: dict[str, object] = {"to": "s@example.org", "subject": "s", "text": "t", "html": "h"}
    values.update(fields)
    return OutboxMail(id=mail_id, kind="opened", **values)  # type: ignore[arg-type]


async def test_mail_queue_is_answered_from_memory(storage: Storage) -> None:
    t1 = await storage.tickets.create(build(outbox=[mail("a", next_try_at="2026-01-01T00:00:02")]))
    t2 = await storage.tickets.create(build(outbox=[mail("b", next_try_at="2026-01-01T00:00:01")]))
    await storage.tickets.create(build(outbox=[mail("c", next_try_at="2026-01-01T09:00:00")]))
    assert [(n, m.id) for n, m in storage.tickets.due_mail("2026-01-01T01:00:00")] == [
        (t2.number, "b"),
        (t1.number, "a"),
    ]
    assert storage.tickets.next_mail_time() == "2026-01-01T00:00:01"

    def sent(ticket: Ticket) -> None:
        ticket.outbox[0].state = "sent"

    def parked(ticket: Ticket) -> None:
        ticket.outbox[0].state = "parked"

    await storage.tickets.update(t2.number, sent)
    await storage.tickets.update(t1.number, parked)
    assert storage.tickets.due_mail("2026-01-01T01:00:00") == []
    assert storage.tickets.next_mail_time() == "2026-01-01T09:00:00"
    assert [(n, m.id) for n, m in storage.tickets.parked_mail()] == [(t1.number, "a")]


async def test_a_restart_reads_everything_back(data_dir: Path) -> None:
    async with await Storage.open(data_dir) as storage:
        made = [await storage.tickets.create(build(name=f"Studente {i}")) for i in range(30)]
        await storage.tickets.update(made[0].number, lambda t: setattr(t, "status", "closed"))
        before = storage.tickets.summaries()
    async with await Storage.open(data_dir) as storage:
        assert storage.tickets.summaries() == before
        for ticket in made[1:]:
            assert await storage.tickets.get(ticket.number) == ticket


async def test_each_ticket_file_is_a_plain_tinydb_database(storage: Storage) -> None:
    from tinydb import TinyDB

    from storage.tinyfile import AtomicJSONStorage

    created = await storage.tickets.create(build())
    path = storage.layout.ticket(created.number)
    assert path.parent.name == created.number[:2]
    assert json.loads(path.read_bytes())["ticket"]["1"]["number"] == created.number
    with TinyDB(path, storage=AtomicJSONStorage) as db:
        assert db.table("ticket").get(doc_id=1)["email"] == created.email


async def test_creation_works_where_hard_links_are_missing(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
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


async def test_bookkeeping_updates_keep_updated_at(storage: Storage) -> None:
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
