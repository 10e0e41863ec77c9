"""Storage: does a write cost the same on day 1 and on day 80?

Two stores side by side, one with 500 tickets and one with 20,000 (plus a conversation per
ticket and five audit lines each, as a season leaves them). The 20,000 are written straight to
disk in the store's own format, because creating them through the API only measures the same
thing 20,000 times; the measured creates and appends go through the API, alternating between
the two stores so that any drift of the machine hits both alike. Memory is measured in a fresh
process that only opens the big store.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from storage import (
    AuditEntry,
    Conversation,
    Message,
    OutboxMail,
    StatusChange,
    Storage,
    Ticket,
)
from storage.layout import Layout
from storage.queue import QueueQuery
from storage.tinyfile import encode

SMALL = 500
LARGE = 20_000
OPS = 400  # measured creates, and as many appends, per store
CONCURRENT = 25  # writers at once in the event-loop stall test
ROOT = Path(__file__).resolve().parent.parent

WORDS = [
    "immatricolazione", "iscrizione", "scadenza", "tasse", "isee", "pagamento", "pagoPA", "SPID",
    "bando", "graduatoria", "corso", "laurea", "magistrale", "triennale", "test", "ammissione",
    "documenti", "diploma", "titolo", "estero", "permesso", "soggiorno", "borsa", "studio",
    "rinuncia", "trasferimento", "piano", "carriera", "esami", "segreteria", "perché", "già",
]
# Drawing words one by one for 20,000 tickets is slower than everything measured: cut slices
# of a long random text instead.
_TEXT = " ".join(random.Random(7).choice(WORDS) for _ in range(20_000))


def prose(rng: random.Random, chars: int) -> str:
    start = rng.randrange(len(_TEXT) - chars)
    return _TEXT[start : start + chars].strip().capitalize() + "."


def realistic_ticket(number: str, rng: random.Random, created_at: str | None = None) -> Ticket:
    """A ticket as one looks at the end of its life: a thread of a few messages, an internal
    note, status changes, and the mails that announced them (sent, kept in the record)."""
    name = f"{rng.choice(['Rossi', 'Bianchi', 'Verdi', 'Esposito'])} {rng.choice(['Anna', 'Luca'])}"
    email = f"student{number}@example.org"
    kwargs: dict[str, Any] = {} if created_at is None else {"created_at": created_at}
    messages = [
        Message(id="m1", author="student", name=name, body=prose(rng, 600)),
        Message(id="m2", author="operator", name="Laura", username="laura", body=prose(rng, 400)),
        Message(id="m3", author="operator", name="Laura", username="laura", internal=True,
                body=prose(rng, 120)),
        Message(id="m4", author="student", name=name, body=prose(rng, 250)),
    ]
    outbox = [
        OutboxMail(id=f"o{i}", to=email, subject=f"Ticket #{number}", text=prose(rng, 600),
                   html=prose(rng, 1500), kind=kind, state="sent", attempts=1)
        for i, kind in enumerate(("opened", "reply"))
    ]
    return Ticket(
        number=number, email=email, name=name, phone="+393331234567",
        topic="immatricolazioni", subtopic=rng.choice(["scadenze", "tasse", "documenti"]),
        # a season: about 300 of 20,000 still open
        status="open" if rng.random() < 0.015 else "closed",
        operator="laura", messages=messages, outbox=outbox,
        history=[StatusChange(status="awaiting_user", by="laura"),
                 StatusChange(status="open", by="student")],
        conversation_id=secrets.token_urlsafe(16), **kwargs,
    )


def seed(data_dir: Path, count: int, rng: random.Random) -> None:
    """Write a season's files directly, in the format the store writes (no fsync: the
    durability of the seed is not what is measured). Future writes and audit lines are
    wrapped up in the futures and the returned lines."""
    layout = Layout(data_dir)
    numbers = rng.sample(range(1_000_000), count)
    audit: list[bytes] = []
    for shard in range(100):
        layout.ticket(f"{shard:02d}0000").parent.mkdir(parents=True)
    for shard in range(256):
        (layout.conversations / f"{shard:02x}").mkdir(parents=True)
    # Creating a file costs more than building its content here: let threads wait for the disk.
    with ThreadPoolExecutor(max_workers=8) as pool:
        for i, n in enumerate(numbers):
            audit += _seed_one(layout, f"{n:06d}", i, count, rng, pool)
    layout.audit.mkdir(parents=True, exist_ok=True)
    (layout.audit / "2026-01-01.jsonl").write_bytes(b"".join(audit))


def _seed_one(
    layout: Layout, number: str, i: int, count: int, rng: random.Random, pool: ThreadPoolExecutor
) -> list[bytes]:
    created = f"2026-0{1 + i * 8 // count}-01T00:00:00.{i % 1000:03d}+00:00"
    ticket = realistic_ticket(number, rng, created_at=created)
    pool.submit(layout.ticket(number).write_bytes, encode({"ticket": {"1": ticket.to_dict()}}))
    conversation = Conversation(
        id=ticket.conversation_id or "", step="done", slots={"topic": ticket.topic},
        transcript=[{"from": "student", "text": m.body} for m in ticket.messages[:1]],
    )
    record = encode({"conversation": {"1": conversation.to_dict()}})
    pool.submit(layout.conversation(conversation.id).write_bytes, record)
    return [
        json.dumps({"actor": "laura", "action": f"ticket.{action}", "target": number,
                    "detail": {}, "at": created}).encode() + b"\n"
        for action in ("created", "assigned", "reply", "status", "status")
    ]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


async def timed(work: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await work()
    return time.perf_counter() - started


class StallWatch:
    """How late the event loop wakes a task that asked to sleep 1 ms: what a Socket.IO ping
    would suffer while the writes run."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(0.001)
            self.lags.append(time.perf_counter() - started - 0.001)

    def __enter__(self) -> StallWatch:
        self._task = asyncio.get_running_loop().create_task(self._watch())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


def rss_after_open(data_dir: Path) -> tuple[int, int]:
    """(resident KiB after importing storage, resident KiB after opening data_dir), measured in
    a fresh interpreter so the benchmark's own garbage does not count."""
    code = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "def rss():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmRSS:'):\n"
        "            return int(line.split()[1])\n"
        "    return 0\n"
        "import storage\n"
        "before = rss()\n"
        "async def main():\n"
        "    s = await storage.Storage.open(Path(sys.argv[1]))\n"
        "    print(before, rss())\n"
        "    await s.close()\n"
        "asyncio.run(main())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(data_dir)],
        capture_output=True, text=True, check=True, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ).stdout.split()
    return int(out[0]), int(out[1])


async def measure(base: Path) -> list[tuple[str, str]]:
    rng = random.Random(3)
    small_dir, large_dir = base / "small", base / "large"
    started = time.perf_counter()
    seed(small_dir, SMALL, rng)
    seed(large_dir, LARGE, rng)
    seeding = time.perf_counter() - started

    opened = time.perf_counter()
    small = await Storage.open(small_dir)
    open_small = time.perf_counter() - opened
    opened = time.perf_counter()
    large = await Storage.open(large_dir)
    open_large = time.perf_counter() - opened

    rows: list[tuple[str, str]] = [
        ("storage: seed written directly", f"{LARGE:,} + {SMALL} tickets in {seeding:.1f} s"),
        (f"storage: open, {SMALL} tickets", ms(open_small)),
        (f"storage: open, {LARGE:,} tickets (+ as many chats, {5 * LARGE:,} audit lines)",
         f"{open_large:.2f} s"),
    ]
    try:
        creates: dict[str, list[float]] = {"small": [], "large": []}
        appends: dict[str, list[float]] = {"small": [], "large": []}
        stores = {"small": small, "large": large}

        with StallWatch() as sequential:
            for _ in range(OPS):
                for key, store in stores.items():
                    async def create(store: Storage = store) -> None:
                        await store.tickets.create(lambda n: realistic_ticket(n, rng))

                    creates[key].append(await timed(create))
            # Any ticket, seeded ones included: the day-80 case appends to a full thread.
            targets = {key: [s.number for s in await store.tickets.summaries()]
                       for key, store in stores.items()}
            for i in range(OPS):
                for key, store in stores.items():
                    number = rng.choice(targets[key])
                    message = Message(id=f"b{i}", author="operator", name="Laura",
                                      body=prose(rng, 300))

                    async def append(
                        store: Storage = store, number: str = number, message: Message = message
                    ) -> None:
                        await store.tickets.update(number, appender(message))

                    appends[key].append(await timed(append))

        for label, samples in (("create", creates), ("append message", appends)):
            for key, size in (("small", SMALL), ("large", LARGE)):
                values = samples[key]
                rows.append((
                    f"storage: {label}, {size:,} tickets: median / p99",
                    f"{ms(statistics.median(values))} / {ms(percentile(values, 0.99))}",
                ))
            ratio = statistics.median(samples["large"]) / statistics.median(samples["small"])
            rows.append((f"storage: {label}, median {LARGE:,} / {SMALL} (target <= 1.2)",
                         f"{ratio:.2f}"))
        rows.append(("storage: event-loop stall during sequential writes, p99 / max",
                     f"{ms(percentile(sequential.lags, 0.99))} / {ms(max(sequential.lags))}"))

        # Many writers at once, on the big store: throughput, and how late the loop gets.
        numbers = [s.number for s in (await large.tickets.summaries())[:CONCURRENT]]

        async def busy_writer(number: str) -> None:
            for i in range(20):
                message = Message(id=f"c{i}", author="student", name="S", body=prose(rng, 200))
                await large.tickets.update(number, appender(message))

        with StallWatch() as concurrent:
            started = time.perf_counter()
            await asyncio.gather(*(busy_writer(n) for n in numbers))
            elapsed = time.perf_counter() - started
        rows.append((f"storage: {CONCURRENT} concurrent writers, {LARGE:,} tickets",
                     f"{CONCURRENT * 20 / elapsed:.0f} appends/s"))
        rows.append(("storage: event-loop stall during concurrent writes, p99 / max",
                     f"{ms(percentile(concurrent.lags, 0.99))} / {ms(max(concurrent.lags))}"))

        # Reads answered from memory.
        search = await timed(lambda: large.tickets.queue(QueueQuery(text="no such text anywhere")))
        # What every open console reloads at every change of any ticket.
        console = QueueQuery(statuses=frozenset({"open", "awaiting_user"}),
                             holders=frozenset({"", "laura"}))
        # "Fermi da più tempo": the same tickets in the order of how long each has waited.
        # Median of 7: one run of a millisecond is the machine's noise as much as the code's.
        idle = replace(console, sort="waiting")
        queue = statistics.median([await timed(lambda: large.tickets.queue(console))
                                   for _ in range(7)])
        waiting = statistics.median([await timed(lambda: large.tickets.queue(idle))
                                     for _ in range(7)])
        open_now = (await large.tickets.queue(console)).total
        rows.append((f"storage: console queue, {open_now} open of {LARGE:,} tickets:"
                     " newest / waiting first", f"{ms(queue)} / {ms(waiting)}"))
        listing = await timed(large.tickets.summaries)
        rows.append((f"storage: search (full scan) / all summaries, {LARGE:,} tickets",
                     f"{ms(search)} / {ms(listing)}"))
        audit = await timed(lambda: large.audit.append(AuditEntry("laura", "bench", "x")))
        rows.append(("storage: audit append", ms(audit)))
    finally:
        await small.close()
        await large.close()

    before, after = rss_after_open(large_dir)
    rows.append((f"storage: resident memory, open on {LARGE:,} tickets",
                 f"{after / 1024:.0f} MiB ({(after - before) / 1024:.0f} MiB over the "
                 f"{before / 1024:.0f} MiB of the interpreter and imports)"))
    return rows


def appender(message: Message) -> Callable[[Ticket], None]:
    return lambda ticket: ticket.messages.append(message)


def run() -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="bench-storage-") as base:
        return asyncio.run(measure(Path(base)))


if __name__ == "__main__":
    for name, value in run():
        print(f"{name:70}  {value}")
