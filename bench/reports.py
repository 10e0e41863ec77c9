"""The office's figures and the wait, on both backends: does the report cost the same at 500
tickets and at 20,000, and what does it cost to tell the waiting students that the queue moved?

Two seasons, 500 and 20,000 tickets spread over the last year (answered, closed and rated in
realistic shares, two chats with FAQ events for each ticket), each kept twice: in a data folder
(written straight to disk in the store's format) and in a PostgreSQL database (through the
store, then ANALYZE, as autovacuum leaves a real one; the server is the tests' own, on loopback,
with fsync off: reads do not wait for it). Each figure is the median of repeated reports on
the opened store, for the 30-day window the console opens on and for 365 days (every ticket in
the window: the worst case, since the cost follows the tickets of the window).

The wait: with WATCHED of the waiting tickets watched live, the oldest waiting ticket is
answered (a real write) and the watchers are told (web/desk/waiting.py: only those whose place
changed, with a short event); beside it, the two ways that need no list of watchers: the
short event to every waiting ticket's room, and each room its whole ticket (a read each).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import socketio

from storage import Backend, FaqEvent, Message, Rating, StatusChange, Storage, Ticket
from storage.layout import Layout
from storage.tinyfile import encode
from tests.servers import PG_BIN, PostgresServer
from web.desk.figures import office_csv, office_report, office_xlsx
from web.desk.live import STUDENTS, WAIT_ROOM
from web.desk.office_hours import OfficeHours
from web.desk.waiting import WaitWatch, queue_of, queue_view, wait_pace

SIZES = (500, 20_000)
RUNS = 30
OFFICE = OfficeHours.parse("mon-fri 09:00-13:00; tue,thu 14:30-16:30")
WATCHED = 300
SUBTOPICS = ("scadenze", "tasse-pagamenti", "documenti", "credenziali", "procedura-online")
# Writes in flight while a database is seeded: enough to keep the pool busy.
SEEDING = 20


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def seeded_ticket(number: str, rng: random.Random, now: datetime) -> Ticket:
    created = now - timedelta(seconds=rng.uniform(0, 365 * 86400))
    messages = [Message(id="s", author="student", name="S", body="?", at=_stamp(created))]
    history = [StatusChange("open", "student", _stamp(created))]
    status = "open"
    rating = None
    if rng.random() < 0.9:
        answered = min(now, created + timedelta(minutes=rng.expovariate(1 / 240)))
        messages.append(Message(id="r", author="operator", name="L", body="ok", username="l",
                                at=_stamp(answered)))
        if rng.random() < 0.8:
            closed = min(now, answered + timedelta(hours=rng.expovariate(1 / 30)))
            history.append(StatusChange("closed", "l", _stamp(closed)))
            status = "closed"
            if rng.random() < 0.3:
                rating = Rating(score=rng.randint(1, 5), at=_stamp(closed))
    return Ticket(number=number, email=f"s{number}@example.org", name="S", phone="+39333",
                  topic="immatricolazioni", subtopic=rng.choice(SUBTOPICS),
                  status=status,  # type: ignore[arg-type]
                  created_at=_stamp(created), messages=messages, history=history, rating=rating)


def season(count: int, now: datetime) -> tuple[list[Ticket], list[FaqEvent]]:
    """The tickets, and the FAQ events of their chats in order of time (as they are logged)."""
    rng = random.Random(count)
    tickets, events = [], []
    for n in rng.sample(range(1_000_000), count):
        ticket = seeded_ticket(f"{n:06d}", rng, now)
        tickets.append(ticket)
        for chat in range(2):
            kind = rng.choice(["suggested", "suggested", "no_match"])
            event = FaqEvent(kind=kind, query="q", lang="it",  # type: ignore[arg-type]
                             conversation_id=f"{ticket.number}-{chat}", at=ticket.created_at)
            events.append(event)
            if kind == "suggested" and rng.random() < 0.4:
                events.append(replace(event, kind="solved"))
    events.sort(key=lambda e: e.at)
    return tickets, events


def seed_folder(data_dir: Path, tickets: list[Ticket], events: list[FaqEvent]) -> None:
    layout = Layout(data_dir)
    for ticket in tickets:
        path = layout.ticket(ticket.number)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(encode({"ticket": {"1": ticket.to_dict()}}))
    layout.faq_events.mkdir(parents=True, exist_ok=True)
    lines = b"".join(json.dumps(asdict(e)).encode() + b"\n" for e in events)
    (layout.faq_events / "2026-01-01.jsonl").write_bytes(lines)


def renumbered(ticket: Ticket) -> Callable[[str], Ticket]:
    return lambda number: replace(ticket, number=number)


async def seed_database(url: str, tickets: list[Ticket], events: list[FaqEvent]) -> None:
    from storage.postgres import PostgresStorage

    async with await PostgresStorage.open(url) as storage:
        writes: list[Awaitable[object]] = [
            storage.tickets.create(renumbered(t)) for t in tickets
        ]
        writes += [storage.faq_events.append(e) for e in events]
        for start in range(0, len(writes), SEEDING):
            await asyncio.gather(*writes[start : start + SEEDING])
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("VACUUM ANALYZE")


class CountingLive:
    """The live channel, counting what would be sent (sending is Socket.IO's cost, not ours)."""

    def __init__(self) -> None:
        self.sent = 0

    async def emit(self, event: str, data: object = None, *, room: str | None = None,
                   namespace: str | None = None) -> None:
        self.sent += 1


async def measure_wait(storage: Backend, label: str) -> list[tuple[str, str]]:
    everyone = [s.number for s in await storage.tickets.summaries()]
    places = await storage.tickets.queue_positions(everyone)
    numbers = sorted(places, key=places.__getitem__)
    live = CountingLive()
    watch = WaitWatch(storage, live)
    for i, number in enumerate(numbers[-WATCHED:]):
        watch.watch(number, f"sid{i}", await queue_view(storage, number))
    refresh, place = [], []
    for number in numbers[:RUNS]:  # the oldest waiting ticket is answered, RUNS times
        answer = Message(id="a", author="operator", name="L", body="ok", username="l")
        await storage.tickets.update(number, lambda t, m=answer: t.messages.append(m))
        started = time.perf_counter()
        await watch.moved()
        refresh.append(time.perf_counter() - started)
        started = time.perf_counter()
        await queue_view(storage, numbers[-1])
        place.append(time.perf_counter() - started)
    # the alternatives: the short event to every waiting ticket's room, through a real
    # Socket.IO server (rooms nobody is in), or each room its whole ticket (a read each)
    sio = socketio.AsyncServer(async_mode="aiohttp")
    started = time.perf_counter()
    pace = await wait_pace(storage, datetime.now(UTC))
    positions = await storage.tickets.queue_positions(numbers[RUNS:])
    for number in numbers[RUNS:]:
        queue = queue_of(positions[number], pace)
        await sio.emit("wait", {"number": number, "queue": queue},
                       room=WAIT_ROOM.format(number=number), namespace=STUDENTS)
    every_short = time.perf_counter() - started
    started = time.perf_counter()
    for number in numbers[RUNS:]:
        await storage.tickets.get(number)
    every_room = time.perf_counter() - started
    watched = min(WATCHED, len(numbers))
    now = datetime.now(UTC)
    answers = len(await storage.tickets.durations_between(
        "answered", (now - timedelta(days=7)).isoformat(), now.isoformat()))
    return [
        (f"wait: the pace of the last 7 days' {answers:,} first answers, {label}",
         f"{await median_ms(wait_pace, storage, now):.2f} ms; in the office's working time "
         f"(HELPDESK_OFFICE_HOURS) {await median_ms(wait_pace, storage, now, OFFICE):.2f} ms"),
        (f"wait: place + expected wait of one ticket, {label}",
         f"{statistics.median(place) * 1000:.3f} ms"),
        (f"wait: queue moves, {watched} of {len(numbers):,} waiting watched, {label}",
         f"{statistics.median(refresh) * 1000:.2f} ms, {live.sent // RUNS} events"),
        (f"wait: instead, the short event to all {len(numbers) - RUNS:,} waiting rooms, {label}",
         f"{every_short * 1000:.0f} ms"),
        (f"wait: instead, each waiting room its whole ticket ({len(numbers) - RUNS:,} reads),"
         f" {label}", f"{every_room * 1000:.0f} ms"),
    ]


async def median_ms(work: Callable[..., Awaitable[object]], *args: object) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        await work(*args)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


async def measure_store(
    storage: Backend, label: str, now: datetime
) -> tuple[dict[int, float], list[tuple[str, str]]]:
    """The report's medians by window, and the other figures, of one opened store."""
    reports = {days: await median_ms(office_report, storage, days, now) for days in (30, 365)}
    rows = [
        (f"reports: {name} of 30 days, {label}",
         f"{await median_ms(write, storage, 30, now):.2f} ms")
        for name, write in (("CSV", office_csv), ("workbook", office_xlsx))
    ]
    return reports, rows + await measure_wait(storage, label)


@contextlib.contextmanager
def database() -> Iterator[PostgresServer | None]:
    if not (PG_BIN / "postgres").exists():
        yield None
        return
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


async def open_store(place: Path | str) -> Backend:
    if isinstance(place, Path):
        return await Storage.open(place)
    from storage.postgres import PostgresStorage

    return await PostgresStorage.open(place)


async def measure(base: Path, server: PostgresServer | None) -> list[tuple[str, str]]:
    now = datetime.now(UTC)
    rows: list[tuple[str, str]] = []
    medians: dict[tuple[str, int, int], float] = {}
    for count in SIZES:
        tickets, events = season(count, now)
        folder = base / str(count)
        seed_folder(folder, tickets, events)
        places: list[tuple[str, Path | str]] = [("folder", folder)]
        if server is not None:
            url = server.url(server.new_database())
            await seed_database(url, tickets, events)
            places.append(("PostgreSQL", url))
        for kind, place in places:
            storage = await open_store(place)
            try:
                reports, more = await measure_store(storage, f"{kind}, {count:,} tickets", now)
            finally:
                await storage.close()
            rows += more
            for days, ms in reports.items():
                medians[kind, count, days] = ms
    for kind in ("folder", "PostgreSQL"):
        for days in (30, 365):
            if (kind, SIZES[0], days) in medians:
                small, large = (medians[kind, size, days] for size in SIZES)
                rows.append((f"reports: report of {days} days, median, {kind},"
                             f" {SIZES[0]} / {SIZES[1]:,} tickets",
                             f"{small:.2f} / {large:.2f} ms"))
    if server is None:
        rows.append(("reports: PostgreSQL", f"not measured: {PG_BIN}/postgres is missing"))
    return rows


def run() -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="bench-reports-") as base, database() as server:
        return asyncio.run(measure(Path(base), server))


if __name__ == "__main__":
    for name, value in run():
        print(f"{name:80}  {value}")
