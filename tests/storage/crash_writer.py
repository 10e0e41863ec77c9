"""The victim of test_crash.py: writes through the storage as fast as it can, with several
writers at once, and prints each write once it is acknowledged. Killed at random moments."""

from __future__ import annotations

import asyncio
import random
import sys
from collections.abc import Callable
from pathlib import Path

from storage import AuditEntry, Conversation, Message, Storage, Ticket


def appender(message: Message) -> Callable[[Ticket], None]:
    return lambda ticket: ticket.messages.append(message)


def ack(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def writer(storage: Storage, worker: str) -> None:
    numbers = [s.number for s in await storage.tickets.summaries()]
    # Each worker owns its conversation, so "the last acknowledged step" is well defined.
    conversation_id = f"crash-{worker}-conversation"
    stored = await storage.conversations.get(conversation_id)
    step = int(stored.step) if stored else 0
    i = 0
    while True:
        i += 1
        roll = random.random()
        if roll < 0.3 or not numbers:
            ticket = await storage.tickets.create(
                lambda n: Ticket(
                    number=n,
                    email=f"{worker}@example.org",
                    name="Crash Test",
                    phone="+390000000",
                    topic="t",
                    subtopic="s",
                    messages=[Message(id="m0", author="student", name="C", body="x" * 2000)],
                )
            )
            numbers.append(ticket.number)
            ack(f"T {ticket.number}")
        elif roll < 0.8:
            number = random.choice(numbers)
            message_id = f"{worker}-{i}"
            message = Message(id=message_id, author="operator", name="O", body="y" * 500)
            await storage.tickets.update(number, appender(message))
            ack(f"M {number} {message_id}")
        elif roll < 0.9:
            step += 1
            # A chat's progress is written behind: only a durable save is acknowledged, but
            # the others must leave whole files too.
            durable = random.random() < 0.5
            await storage.conversations.save(
                Conversation(id=conversation_id, step=str(step)), durable=durable
            )
            if durable:
                ack(f"C {conversation_id} {step}")
        else:
            target = f"{worker}-{i}"
            await storage.audit.append(AuditEntry(actor="crash", action="test", target=target))
            # An audit entry is acknowledged once flushed: append only queues it.
            await storage.audit.flush()
            ack(f"A {target}")


async def main(data_dir: Path, round_id: str) -> None:
    storage = await Storage.open(data_dir)
    ack("ready")
    await asyncio.gather(*(writer(storage, f"{round_id}w{w}") for w in range(4)))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2]))
