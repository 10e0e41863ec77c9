"""The office's figures and the wait: does the report cost the same at 500 tickets and at
20,000, and what does it cost to tell the waiting students that the queue moved?

Two data folders, 500 and 20,000 tickets spread over the last year (answered, closed and rated
in realistic shares, two chats with FAQ events for each ticket), written straight to disk in
the store's format. Each figure is the median of repeated reports on the opened store, for the
30-day window the console opens on and for 365 days (every ticket in the window: the worst
case, since the cost follows the tickets of the window).

The wait: with WATCHED of the waiting tickets watched live, the oldest waiting ticket is
answered (a real write) and the watchers are told (web/desk/waiting.py: only those whose place
changed, with a short event); beside it, the two ways that need no list of watchers: the
short event to every waiting ticket's room, and each room its whole ticket (at least a file
read each).
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import socketio

from storage import Message, Rating, StatusChange, Storage, Ticket
from storage.layout import Layout
from storage.tinyfile import encode
from web.desk.figures import office_csv, office_report
from web.desk.live import STUDENTS, WAIT_ROOM
from web.desk.waiting import WaitWatch, expected_wait_minutes, queue_of, queue_view

SIZES = (500, 20_000)
RUNS = 30
WATCHED = 300
SUBTOPICS = ("scadenze", "tasse-pagamenti", "documenti", "credenziali", "procedura-online")


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


def seed(data_dir: Path, count: int, now: datetime) -> None:
    rng = random.Random(count)
    layout = Layout(data_dir)
    events: list[tuple[str, bytes]] = []
    for n in rng.sample(range(1_000_000), count):
        number = f"{n:06d}"
        ticket = seeded_ticket(number, rng, now)
        path = layout.ticket(number)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(encode({"ticket": {"1": ticket.to_dict()}}))
        for chat in range(2):
            kind = rng.choice(["suggested", "suggested", "no_match"])
            base = {"query": "q", "lang": "it", "faq_ids": [],
                    "conversation_id": f"{number}-{chat}", "at": ticket.created_at}
            events.append((ticket.created_at, json.dumps({**base, "kind": kind}).encode()))
            if kind == "suggested" and rng.random() < 0.4:
                events.append((ticket.created_at, json.dumps({**base, "kind": "solved"}).encode()))
    # The log is appended as things happen: in order of time.
    events.sort(key=lambda e: e[0])
    layout.faq_events.mkdir(parents=True, exist_ok=True)
    lines = b"".join(line + b"\n" for _, line in events)
    (layout.faq_events / "2026-01-01.jsonl").write_bytes(lines)


class CountingLive:
    """The live channel, counting what would be sent (sending is Socket.IO's cost, not ours)."""

    def __init__(self) -> None:
        self.sent = 0

    async def emit(self, event: str, data: object = None, *, room: str | None = None,
                   namespace: str | None = None) -> None:
        self.sent += 1


async def measure_wait(storage: Storage, count: int) -> list[tuple[str, str]]:
    waiting = sorted(
        (position, s.number) for s in await storage.tickets.summaries()
        if (position := await storage.tickets.queue_position(s.number)) is not None
    )
    numbers = [number for _, number in waiting]
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
    # Socket.IO server (rooms nobody is in), or each room's whole ticket (a file read each)
    sio = socketio.AsyncServer(async_mode="aiohttp")
    started = time.perf_counter()
    expected = await expected_wait_minutes(storage, datetime.now(UTC))
    for number in numbers[RUNS:]:
        queue = queue_of(await storage.tickets.queue_position(number), expected)
        await sio.emit("wait", {"number": number, "queue": queue},
                       room=WAIT_ROOM.format(number=number), namespace=STUDENTS)
    every_short = time.perf_counter() - started
    started = time.perf_counter()
    for number in numbers[RUNS:]:
        await storage.tickets.get(number)
    every_room = time.perf_counter() - started
    watched = min(WATCHED, len(numbers))
    return [
        (f"wait: place + expected wait of one ticket, {count:,} tickets",
         f"{statistics.median(place) * 1000:.3f} ms"),
        (f"wait: queue moves, {watched} of {len(numbers):,} waiting watched, {count:,} tickets",
         f"{statistics.median(refresh) * 1000:.2f} ms, {live.sent // RUNS} events"),
        (f"wait: instead, the short event to all {len(numbers) - RUNS:,} waiting rooms",
         f"{every_short * 1000:.0f} ms"),
        (f"wait: instead, each waiting room its whole ticket ({len(numbers) - RUNS:,} file reads)",
         f"{every_room * 1000:.0f} ms"),
    ]


async def median_ms(work: Callable[..., Awaitable[object]], *args: object) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        await work(*args)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


async def measure(base: Path) -> list[tuple[str, str]]:
    now = datetime.now(UTC)
    rows: list[tuple[str, str]] = []
    medians: dict[tuple[int, int], float] = {}
    for count in SIZES:
        folder = base / str(count)
        seed(folder, count, now)
        storage = await Storage.open(folder)
        try:
            for days in (30, 365):
                medians[count, days] = await median_ms(office_report, storage, days, now)
            csv_ms = await median_ms(office_csv, storage, 30, now)
            wait_rows = await measure_wait(storage, count)
        finally:
            await storage.close()
        rows.append((f"reports: CSV of 30 days, {count:,} tickets", f"{csv_ms:.2f} ms"))
        rows += wait_rows
    for days in (30, 365):
        small, large = (medians[size, days] for size in SIZES)
        rows.append((f"reports: report of {days} days, median, {SIZES[0]} / {SIZES[1]:,} tickets",
                     f"{small:.2f} / {large:.2f} ms"))
    return rows


def run() -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="bench-reports-") as base:
        return asyncio.run(measure(Path(base)))


if __name__ == "__main__":
    for name, value in run():
        print(f"{name:70}  {value}")
