"""PostgreSQL (issue 13): does a write cost the same on day 1 and on day 80, next to the data
folder of bench/storage.py, and how many tickets a second do one and two `python -m web`
processes open on one database?

A PostgreSQL server of its own in a temporary folder (tests/servers.py, as the tests start it),
with fsync and synchronous commit on, as in production: a write is acknowledged after its
commit is on disk, as the data folder's is after its fsync. The 500 and 20,000 tickets (with a
chat each and five audit lines each) are seeded as bench/storage.py seeds a folder, then
copied in by import-data, whose time is the migration's cost. The measured creates and replies
go through the stores, alternating between the two databases and the two folders they were
copied from, so that any drift of the machine (shared, and busy) hits all four alike.

The HTTP part opens tickets through `POST /api/tickets` from CLIENTS concurrent clients in
this process, for SECONDS, against one process and then against two on one database (the
clients alternate between them; no balancer, no Redis). The clients share the machine's cores
with the servers and PostgreSQL (and with whatever else runs: the row says how busy the whole
machine was), so tickets a second measure this machine; the server CPU per ticket does not
depend on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp

from bench.load_servers import (
    NO_ADDRESS_LIMITS,
    ROOT,
    Target,
    free_port,
    machine_busy_seconds,
    started,
)
from bench.storage import (
    LARGE,
    OPS,
    SMALL,
    appender,
    ms,
    percentile,
    prose,
    realistic_ticket,
    seed,
    timed,
)
from storage import Backend, Conversation, Message, Storage
from storage.postgres import PostgresStorage
from storage.postgres.importer import import_folder
from storage.queue import QueueQuery
from tests.servers import PostgresServer, postgres_missing, postgres_server

CLIENTS = 32
CORES = os.cpu_count() or 1
SECONDS = 8.0
WARM_UP = 1.0
CHATS = 200
CHAT_ROUNDS = 10
TICKET = {
    "name": "Rossi Mario",
    "phone": "+39 333 123 4567",
    "topic": "immatricolazioni",
    "subtopic": "tasse-pagamenti",
    "message": "Ho pagato la prima rata ma il portale non la registra ancora.",
}


async def seeded(base: Path, server: PostgresServer, name: str, count: int,
                 rng: random.Random) -> tuple[Path, str, float]:
    """A data folder and a database holding the same `count` tickets of a season; (the folder,
    the database's URL, seconds import-data took to copy the one into the other)."""
    folder = base / name
    await asyncio.to_thread(seed, folder, count, rng)
    server.execute(f'CREATE DATABASE "{name}"')
    url = server.url(name)
    started_at = time.perf_counter()
    await import_folder(folder, url)
    return folder, url, time.perf_counter() - started_at


async def measure_store(base: Path, server: PostgresServer) -> list[tuple[str, str]]:
    rng = random.Random(3)
    small_folder, small_url, _ = await seeded(base, server, "small", SMALL, rng)
    large_folder, large_url, imported = await seeded(base, server, "large", LARGE, rng)
    rows = [(f"postgres: import-data, {LARGE:,} tickets (+ as many chats, "
             f"{5 * LARGE:,} audit lines)", f"{imported:.1f} s")]
    stores: dict[tuple[str, int], Backend] = {
        ("tinydb", SMALL): await Storage.open(small_folder),
        ("tinydb", LARGE): await Storage.open(large_folder),
        ("postgres", SMALL): await PostgresStorage.open(small_url),
        ("postgres", LARGE): await PostgresStorage.open(large_url),
    }
    try:
        creates: dict[tuple[str, int], list[float]] = {key: [] for key in stores}
        replies: dict[tuple[str, int], list[float]] = {key: [] for key in stores}
        for _ in range(OPS):
            for key, store in stores.items():
                creates[key].append(await timed(
                    lambda store=store: store.tickets.create(lambda n: realistic_ticket(n, rng))
                ))
        targets = {key: [s.number for s in await store.tickets.summaries()]
                   for key, store in stores.items()}
        for i in range(OPS):
            for key, store in stores.items():
                number = rng.choice(targets[key])
                message = Message(id=f"b{i}", author="operator", name="Laura",
                                  body=prose(rng, 300))
                replies[key].append(await timed(
                    lambda store=store, number=number, message=message:
                        store.tickets.update(number, appender(message))
                ))
        for label, samples in (("create", creates), ("reply", replies)):
            for size in (SMALL, LARGE):
                rows.append((f"postgres: {label}, {size:,} tickets: median / p99", "  ".join(
                    f"{kind} {ms(statistics.median(samples[kind, size]))} / "
                    f"{ms(percentile(samples[kind, size], 0.99))}"
                    for kind in ("postgres", "tinydb")
                )))
            rows.append((f"postgres: {label}, median {LARGE:,} / {SMALL} (target <= 1.2)",
                         "  ".join(f"{kind} {ratio(samples, kind):.2f}"
                                   for kind in ("postgres", "tinydb"))))
        large = stores["postgres", LARGE]
        # the trigram index (migration 0009) finds a text in no ticket, or in a quarter of them
        searches = []
        for text in ("no such text anywhere", "rossi"):
            query = QueueQuery(text=text)
            times = [await timed(lambda q=query: large.tickets.queue(q)) for _ in range(5)]
            searches.append(statistics.median(times))
        listing = await timed(large.tickets.summaries)
        # what each console reloads at every change of any ticket
        queue = await timed(lambda: large.tickets.queue(QueueQuery(statuses=frozenset({"open"}))))
        rows.append((f"postgres: search, no match / a name / all summaries / the console's queue"
                     f" page, {LARGE:,} tickets",
                     " / ".join(ms(t) for t in (*searches, listing, queue))))
        rows.append(await chat_steps(large))
    finally:
        for store in stores.values():
            await store.close()
    return rows


async def chat_steps(store: Backend) -> tuple[str, str]:
    """A chat step's storage work, the process's CPU per step: the stored chat read and saved,
    against this process's copy saved (working_copy; the save's version still catches a copy
    another process overtook)."""
    chats = [Conversation(id=f"{n:022d}", step="topic", transcript=[
        {"id": f"e{k}", "from": "bot", "kind": "text", "text": "Scegli un argomento.", "data": {},
         "at": "2026-07-01T10:00:00.000+00:00"} for k in range(8)
    ]) for n in range(CHATS)]
    for chat in chats:
        await store.conversations.save(chat)
    cpu = {}
    for read in ("get", "working_copy"):
        started = time.process_time()
        for _ in range(CHAT_ROUNDS):
            for chat in chats:
                copy = await getattr(store.conversations, read)(chat.id)
                copy.step = "describe"
                await store.conversations.save(copy)
        cpu[read] = (time.process_time() - started) / (CHAT_ROUNDS * len(chats))
    return ("postgres: a chat step's read + save, CPU of the process: stored / own copy",
            f"{ms(cpu['get'])} / {ms(cpu['working_copy'])}")


def ratio(samples: dict[tuple[str, int], list[float]], kind: str) -> float:
    return statistics.median(samples[kind, LARGE]) / statistics.median(samples[kind, SMALL])


@contextlib.contextmanager
def processes(base: Path, url: str, count: int) -> Iterator[list[Target]]:
    """`count` python -m web processes on the database at url, each with its own folder."""
    with contextlib.ExitStack() as stack:
        targets = []
        for n in range(count):
            port = free_port()
            env = {
                **NO_ADDRESS_LIMITS,
                "HELPDESK_HOST": "127.0.0.1",
                "HELPDESK_PORT": str(port),
                "HELPDESK_DATA_DIR": str(base / f"web{count}-{n}"),
                "HELPDESK_FAQ_DIR": str(ROOT / "faq_data"),
                "HELPDESK_DATABASE_URL": url,
                "HELPDESK_SECRET_KEY": "bench-secret-key-0123456789abcdefgh",
            }
            targets.append(stack.enter_context(started(
                f"web{n}", [sys.executable, "-m", "web"], env, base / f"web{count}-{n}.log", port
            )))
        yield targets


async def open_tickets(targets: list[Target]) -> tuple[int, int, float, float, list[float]]:
    """(tickets opened, failures, server CPU seconds, CPU seconds the whole machine was busy,
    latencies) in SECONDS after a warm-up."""
    counting = asyncio.Event()
    done = asyncio.Event()
    opened, failed, latencies = 0, 0, []

    async def client(n: int, http: aiohttp.ClientSession) -> None:
        nonlocal opened, failed
        url = f"{targets[n % len(targets)].url}/api/tickets"
        i = 0
        while not done.is_set():
            i += 1
            fields = {**TICKET, "email": f"c{n}-{i}@example.org"}
            started_at = time.perf_counter()
            async with http.post(url, json=fields) as response:
                await response.read()
                if counting.is_set() and not done.is_set():
                    if response.status == 201:
                        opened += 1
                        latencies.append(time.perf_counter() - started_at)
                    else:
                        failed += 1

    connector = aiohttp.TCPConnector(limit=CLIENTS * 2)
    async with aiohttp.ClientSession(connector=connector) as http:
        tasks = [asyncio.create_task(client(n, http)) for n in range(CLIENTS)]
        try:
            await asyncio.sleep(WARM_UP)
            cpu, busy = server_cpu(targets), machine_busy_seconds()
            counting.set()
            await asyncio.sleep(SECONDS)
            done.set()
            cpu, busy = server_cpu(targets) - cpu, machine_busy_seconds() - busy
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
    return opened, failed, cpu, busy, latencies


def server_cpu(targets: list[Target]) -> float:
    """User and system CPU seconds of the server processes so far."""
    return sum(sum(target.cpu_seconds()) for target in targets)


def http_throughput(base: Path, server: PostgresServer) -> list[tuple[str, str]]:
    rows = []
    for count in (1, 2):
        name = f"http{count}"
        server.execute(f'CREATE DATABASE "{name}"')
        with processes(base, server.url(name), count) as targets:
            opened, failed, cpu, busy, latencies = asyncio.run(open_tickets(targets))
        label = "one process" if count == 1 else "two processes"
        rows.append((
            f"postgres: POST /api/tickets, {label}, {CLIENTS} clients",
            f"{opened / SECONDS:.0f} tickets/s (p50 {ms(percentile(latencies, 0.5))}, "
            f"p99 {ms(percentile(latencies, 0.99))}; server CPU {ms(cpu / max(opened, 1))} "
            f"a ticket; {failed} failed; machine busy {busy / SECONDS:.1f} of {CORES} cores)",
        ))
    return rows


def run() -> list[tuple[str, str]]:
    missing = postgres_missing()
    if missing:
        return [("postgres", f"NOT RUN: {missing} (apt-get install postgresql)")]
    with tempfile.TemporaryDirectory(prefix="bench-postgres-") as folder, postgres_server(
        durable=True
    ) as server:
        base = Path(folder)
        rows = asyncio.run(measure_store(base, server))
        return rows + http_throughput(base, server)


if __name__ == "__main__":
    for figure, value in run():
        print(f"{figure:70}  {value}")
