"""The load generator: students, each a python-socketio AsyncClient of its own, arriving on a
schedule and doing the first exchange of the `/chat` namespace (docs/protocol.md):

    connect -> hello -> "new ticket" -> topic "Immatricolazioni" -> a typed question

Every student then stays connected until told to leave, so the server's memory can be read with
all of them on board. One process of asyncio clients is not enough past a few hundred arrivals a
second on this machine, so `bench.load` runs this in several processes (`worker`), each taking
every k-th student of one global schedule.
"""

from __future__ import annotations

import asyncio
import functools
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import socketio

STEPS = ("connect", "hello", "new ticket", "topic", "question")
QUERIES = Path(__file__).resolve().parent / "own_queries.jsonl"
# What the browser's Socket.IO client waits for a connection (its `timeout` option).
CONNECT_TIMEOUT = 20.0
# Past this an answer counts as lost, so that a run always ends.
STEP_TIMEOUT = 60.0
LAG_PERIOD = 0.01
RETURN_SPREAD = (0.5, 1.5)  # seconds after the blip, as Socket.IO's client reconnects


def questions() -> list[str]:
    """What students type: the Italian held-out queries of bench/own_queries.jsonl, typos,
    slang, questions no FAQ answers and all."""
    rows = [json.loads(line) for line in QUERIES.read_text("utf-8").splitlines() if line]
    return [row["q"] for row in rows if row["lang"] == "it"]


class Refused(Exception):
    """The server answered, but not what the protocol promises."""


@dataclass
class Tally:
    """What one process saw: seconds per step, failures per step with a few reasons."""

    seconds: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STEPS})
    failures: dict[str, int] = field(default_factory=lambda: {s: 0 for s in STEPS})
    reasons: list[str] = field(default_factory=list)

    def fail(self, step: str, reason: str) -> None:
        self.failures[step] += 1
        if len(self.reasons) < 5:
            self.reasons.append(f"{step}: {reason}")

    def merge(self, other: Tally) -> None:
        for step in STEPS:
            self.seconds[step] += other.seconds[step]
            self.failures[step] += other.failures[step]
        self.reasons += other.reasons[: max(0, 5 - len(self.reasons))]


class Student:
    def __init__(self, url: str, transports: list[str]) -> None:
        self.url = url
        self.transports = transports
        self.client = socketio.AsyncClient(reconnection=False, request_timeout=CONNECT_TIMEOUT)
        self.replies: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        for name in ("state", "bot", "error"):
            self.client.on(name, self._recorder(name), namespace="/chat")
        self.conversation_id: str | None = None

    def _recorder(self, name: str) -> Callable[[Any], None]:
        def record(data: Any) -> None:
            self.replies.put_nowait((name, data))

        return record

    async def connect(self) -> None:
        await asyncio.wait_for(self.client.connect(
            self.url, namespaces=["/chat"], transports=self.transports,
            headers={"Origin": self.url}, wait_timeout=CONNECT_TIMEOUT,
        ), CONNECT_TIMEOUT)

    async def exchange(self, event: str, payload: dict[str, Any], answer: str) -> dict[str, Any]:
        await self.client.emit(event, payload, namespace="/chat")
        name, data = await asyncio.wait_for(self.replies.get(), STEP_TIMEOUT)
        if name != answer:
            raise Refused(f"{name} {data}")
        return dict(data)

    async def say(self, event: str, **payload: Any) -> dict[str, Any]:
        return await self.exchange(
            event, {"conversation_id": self.conversation_id, **payload}, "bot"
        )

    # --- the steps, in order; each raises if the answer is not what the widget needs next

    async def hello(self) -> None:
        state = await self.exchange("hello", {"conversation_id": None, "lang": "it"}, "state")
        self.conversation_id = state["conversation_id"]
        _offers(state, "new_ticket")

    async def resume(self) -> None:
        state = await self.exchange(
            "hello", {"conversation_id": self.conversation_id, "lang": "it"}, "state"
        )
        if state["conversation_id"] != self.conversation_id:
            raise Refused("a new conversation instead of the student's own")

    async def new_ticket(self) -> None:
        _offers(await self.say("choose", option="new_ticket"), "immatricolazioni")

    async def topic(self) -> None:
        prompt = (await self.say("choose", option="immatricolazioni"))["prompt"]
        if prompt["input"] != "text":
            raise Refused(f"no text box after the topic: {prompt}")

    async def question(self, text: str) -> None:
        if not (await self.say("say", text=text))["entries"]:
            raise Refused("an empty answer to the question")

    async def close(self) -> None:
        await self.client.disconnect()
        http = getattr(self.client.eio, "http", None)
        if http is not None and not http.closed:
            await http.close()


def _offers(reply: dict[str, Any], option: str) -> None:
    if option not in {o["id"] for o in reply["prompt"]["options"]}:
        raise Refused(f"no option {option!r} in {reply['prompt']}")


Steps = list[tuple[str, Callable[[], Awaitable[None]]]]


async def timed(steps: Steps, tally: Tally) -> None:
    """Each step timed from the send to the answer; the first failure ends them."""
    for step, action in steps:
        started = time.perf_counter()
        try:
            await action()
        except TimeoutError:
            tally.fail(step, "no answer in time")
            return
        except Exception as exc:  # any failure is counted and shown, never raised past the run
            tally.fail(step, f"{type(exc).__name__}: {exc}"[:200])
            return
        tally.seconds[step].append(time.perf_counter() - started)


async def one_student(student: Student, question: str, tally: Tally) -> None:
    """The exchange of STEPS."""
    actions = [
        student.connect, student.hello, student.new_ticket, student.topic,
        functools.partial(student.question, question),
    ]
    await timed(list(zip(STEPS, actions, strict=True)), tally)


async def come_back(left: list[Student], url: str, transports: list[str]) -> Tally:
    """A Wi-Fi blip: every student who got a conversation comes back within RETURN_SPREAD
    seconds, as the widget's Socket.IO client reconnects (a 1 s delay, randomised by half),
    and resumes it. Tallied as "connect" and "hello" (the resume). `left` becomes the students
    who came back."""
    tally = Tally()
    rng = random.Random(len(left))
    back: list[Student] = []

    async def one(before: Student) -> None:
        await asyncio.sleep(rng.uniform(*RETURN_SPREAD))
        student = Student(url, transports)
        student.conversation_id = before.conversation_id
        back.append(student)
        await timed([("connect", student.connect), ("hello", student.resume)], tally)

    await asyncio.gather(*(one(s) for s in left if s.conversation_id is not None))
    left[:] = back
    return tally


class LagWatch:
    """How late this process's loop wakes a 10 ms sleeper: if the generator lags, its own
    latencies are inflated and the figures are not the server's."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(LAG_PERIOD)
            self.lags.append(time.perf_counter() - started - LAG_PERIOD)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._watch())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()


async def crowd(
    url: str, indices: range, rate: float, start_at: float, transports: list[str]
) -> tuple[Tally, list[Student], float, list[float]]:
    """Students `indices` of the global schedule (student i arrives at start_at + i / rate,
    wall clock), each through the exchange; returns when every one has finished or failed.
    Also: this process's CPU seconds over the run, and its loop lag."""
    texts = questions()
    rng = random.Random(indices.start)
    tally = Tally()
    students: list[Student] = []
    tasks: list[asyncio.Task[None]] = []
    watch = LagWatch()
    watch.start()
    cpu = time.process_time()
    for i in indices:
        delay = start_at + i / rate - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        student = Student(url, transports)
        students.append(student)
        tasks.append(asyncio.create_task(one_student(student, rng.choice(texts), tally)))
    await asyncio.gather(*tasks)
    cpu = time.process_time() - cpu
    watch.stop()
    return tally, students, cpu, watch.lags


async def _serve(conn: Connection, url: str, indices: range, rate: float,
                 transports: list[str]) -> None:
    loop = asyncio.get_running_loop()
    conn.send("ready")
    start_at = await loop.run_in_executor(None, conn.recv)
    tally, students, cpu, lags = await crowd(url, indices, rate, start_at, transports)
    conn.send({
        "tally": tally, "cpu": cpu, "wall": time.time() - start_at, "lags": lags,
        "connected": sum(1 for s in students if s.client.connected),
    })
    # Everyone stays online until the parent has read the server's memory; then leaves, comes
    # back and leaves again when told.
    await loop.run_in_executor(None, conn.recv)
    await asyncio.gather(*(s.close() for s in students), return_exceptions=True)
    conn.send("left")
    await loop.run_in_executor(None, conn.recv)
    conn.send(await come_back(students, url, transports))
    await loop.run_in_executor(None, conn.recv)
    await asyncio.gather(*(s.close() for s in students), return_exceptions=True)
    conn.send("left")


def worker(conn: Connection, url: str, indices: range, rate: float,
           transports: list[str]) -> None:
    """Entry point of a generator process: wait for the start time, run the crowd, report,
    wait for the word to leave, disconnect everyone."""
    asyncio.run(_serve(conn, url, indices, rate, transports))
