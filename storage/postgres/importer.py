"""`python -m web import-data DIR`: a data folder copied into the database, tickets keeping
their numbers (CONTRACT.md section 7).

The folder is opened as the server opens it: its lock taken (the old server must be stopped)
and every file read and verified (DataFolderBusy, DamagedFile). Each record is inserted only
where the database has none under its key: tickets by number, conversations, accounts and
attachments by id, journal lines by their day file and line (the `origin` column). So running
it again, or after an interruption, adds nothing twice, and an account, chat or ticket the
database already has is kept as it is. One that differs from the folder's is reported: the
folder was used after an earlier import (a trial run), and the database's copy misses what
happened since (replies, closings, mail sent, an erasure); only an import into an empty
database carries that over. Sessions are not copied: operators sign in again.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from psycopg import AsyncConnection

from ..errors import StorageError
from ..files import is_temp
from ..journal import Journal
from ..layout import Layout, valid_attachment_id, valid_conversation_id
from ..store import Storage
from .database import connect, dumps, migrate
from .journals import CHATS_FROM_EVENTS
from .tickets import MAIL_COLUMNS, TICKET_COLUMNS, columns, mail_row, stored_ticket

T = TypeVar("T")
BATCH = 500
# Attachments are up to 2 MiB each: a batch of them is held in memory at once.
ATTACHMENT_BATCH = 16


@dataclass
class Count:
    copied: int = 0
    present: int = 0  # already in the database
    differ: int = 0  # already in the database, in another version than the folder's


@dataclass
class Report:
    counts: dict[str, Count] = field(default_factory=dict)
    # Tickets not copied because the database gives their number to another ticket.
    conflicts: list[str] = field(default_factory=list)
    # Records the database has in another version than the folder's: "ticket 123456", ...
    differ: list[str] = field(default_factory=list)


def chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def is_data_folder(data_dir: Path) -> bool:
    layout = Layout(data_dir)
    return any(p.exists() for p in (*layout.top_folders(), layout.operators))


async def import_folder(data_dir: Path, url: str) -> Report:
    """Copy the folder into the database at url, creating or migrating its schema first."""
    if not is_data_folder(data_dir):
        raise StorageError(f"{data_dir} is not a help desk data folder")
    folder = await Storage.open(data_dir)
    try:
        conn = await connect(url)
        try:
            await migrate(conn, url)
            return await Copy(conn, folder).run()
        finally:
            await conn.close()
    finally:
        await folder.close()


class Copy:
    def __init__(self, conn: AsyncConnection, folder: Storage) -> None:
        self.conn = conn
        self.folder = folder
        self.layout = folder.layout
        self.report = Report()

    async def run(self) -> Report:
        await self.operators()
        await self.attachments()
        await self.tickets()
        await self.conversations()
        await self.journal(
            "audit", self.folder.audit.journal,
            "audit (origin, target, entry)",
            lambda origin, entry: (origin, entry.target, dumps(asdict(entry))),
        )
        await self.journal(
            "faq_events", self.folder.faq_events.journal,
            "faq_events (origin, at, conversation_id, event)",
            lambda origin, event: (origin, event.at, event.conversation_id, dumps(asdict(event))),
        )
        # COPY bypassed the insert that keeps each chat's row for the figures
        await self.conn.execute(CHATS_FROM_EVENTS)
        # Tables loaded in bulk have no statistics and no visibility map until autovacuum comes
        # round: until then the console's queue counted 20,000 tickets with a scan of the
        # table, 27 ms at each reload of each console, instead of 3.6 ms from its index.
        await self.conn.execute(
            "VACUUM (ANALYZE) tickets, conversations, audit, faq_events, faq_chats"
        )
        return self.report

    async def _present(self, table: str, key: str, keys: Sequence[str]) -> set[str]:
        cur = await self.conn.execute(
            f"SELECT {key} FROM {table} WHERE {key} = ANY(%s)", (list(keys),)
        )
        return {row[0] for row in await cur.fetchall()}

    async def _insert(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        """COPY: one stream for a whole batch, where an INSERT per row made 20,000 tickets
        take minutes. `table` names its columns in the rows' order; the absent rows were
        picked in this transaction."""
        if rows:
            async with self.conn.cursor() as cur, cur.copy(f"COPY {table} FROM STDIN") as copy:
                for row in rows:
                    await copy.write_row(row)

    async def _copy(
        self,
        kind: str,
        table: str,
        key: str,
        keys: Sequence[str],
        rows: Callable[[Sequence[str]], Awaitable[list[tuple[Any, ...]]]],
        into: str,
        size: int = BATCH,
        record: Callable[[str], Awaitable[object]] | None = None,
    ) -> None:
        """Insert the rows of the keys the table lacks, a batch per transaction. record: the
        folder's record of a key, compared with the `record` column of the rows present."""
        count = self.report.counts.setdefault(kind, Count())
        for batch in chunks(keys, size):
            async with self.conn.transaction():
                present = await self._present(table, key, batch)
                new = [k for k in batch if k not in present]
                await self._insert(into, await rows(new))
            count.copied += len(new)
            count.present += len(present)
            if record is not None and present:
                cur = await self.conn.execute(
                    f"SELECT {key}, record FROM {table} WHERE {key} = ANY(%s) ORDER BY {key}",
                    (sorted(present),),
                )
                for k, stored in await cur.fetchall():
                    if stored != json.loads(dumps(await record(k))):
                        self._differs(count, f"{kind.removesuffix('s')} {k}")

    def _differs(self, count: Count, what: str) -> None:
        count.differ += 1
        self.report.differ.append(what)

    async def operators(self) -> None:
        accounts = {o.username: o for o in await self.folder.operators.list()}

        async def rows(usernames: Sequence[str]) -> list[tuple[Any, ...]]:
            return [(u, dumps(accounts[u].to_dict())) for u in usernames]

        async def record(username: str) -> object:
            return accounts[username].to_dict()

        await self._copy(
            "operators", "operators", "username", sorted(accounts), rows,
            "operators (username, record)", record=record,
        )

    async def attachments(self) -> None:
        ids = sorted(
            p.name for p in self.layout.attachments.glob("*/*") if valid_attachment_id(p.name)
        )

        async def rows(new: Sequence[str]) -> list[tuple[Any, ...]]:
            out = []
            for attachment_id in new:
                data = await self.folder.attachments.read(attachment_id)
                if data is None:
                    continue
                stat = self.layout.attachment(attachment_id).stat()
                created = datetime.fromtimestamp(stat.st_mtime, UTC)
                out.append((attachment_id, len(data), created, data))
            return out

        await self._copy(
            "attachments", "attachments", "id", ids, rows,
            "attachments (id, size, created_at, bytes)",
            ATTACHMENT_BATCH,
        )

    async def tickets(self) -> None:
        """Numbers are kept. One the database already gives to a ticket created at another
        moment is a conflict: reported, not copied. Not the email: an operator corrects it, an
        erasure empties it, and the ticket is the same."""
        count = self.report.counts.setdefault("tickets", Count())
        numbers = [s.number for s in reversed(await self.folder.tickets.summaries())]
        for batch in chunks(numbers, BATCH):
            tickets = [t for n in batch if (t := await self.folder.tickets.get(n)) is not None]
            async with self.conn.transaction():
                cur = await self.conn.execute(
                    "SELECT number, created_at FROM tickets WHERE number = ANY(%s)",
                    (list(batch),),
                )
                there = {row[0]: row[1] for row in await cur.fetchall()}
                new = [t for t in tickets if t.number not in there]
                # COPY cannot skip a duplicate, and a number outlives its ticket.
                used = await self._present("used_numbers", "number", [t.number for t in new])
                await self._insert(
                    "used_numbers (number)", [(t.number,) for t in new if t.number not in used]
                )
                await self._insert(f"tickets ({TICKET_COLUMNS})", [columns(t) for t in new])
                await self._insert(
                    f"outbox ({MAIL_COLUMNS})",
                    [mail_row(t.number, i, m) for t in new for i, m in enumerate(t.outbox)],
                )
            count.copied += len(new)
            for ticket in tickets:
                if ticket.number not in there:
                    continue
                if there[ticket.number] != ticket.created_at:
                    self.report.conflicts.append(ticket.number)
                    continue
                count.present += 1
                if await stored_ticket(self.conn, ticket.number) != ticket:
                    self._differs(count, f"ticket {ticket.number}")

    async def conversations(self) -> None:
        ids = sorted(
            p.name.removesuffix(".json")
            for p in self.layout.conversations.glob("*/*.json")
            if not is_temp(p.name) and valid_conversation_id(p.name.removesuffix(".json"))
        )

        async def rows(new: Sequence[str]) -> list[tuple[Any, ...]]:
            out = []
            for conversation_id in new:
                conversation = await self.folder.conversations.get(conversation_id)
                if conversation is not None:  # its updated_at kept, not stamped anew
                    record = dumps(conversation.to_dict())
                    out.append((conversation_id, conversation.updated_at, record))
            return out

        async def record(conversation_id: str) -> object:
            conversation = await self.folder.conversations.get(conversation_id)
            return conversation.to_dict() if conversation is not None else None

        await self._copy(
            "conversations", "conversations", "id", ids, rows,
            "conversations (id, updated_at, record)", record=record,
        )

    async def journal(
        self,
        table: str,
        journal: Journal[Any],
        into: str,
        row: Callable[[str, Any], tuple[Any, ...]],
    ) -> None:
        """Day by day and line by line, so that the database's ids keep the files' order."""
        for path in journal.files([]):
            entries = await asyncio.to_thread(journal.read, path)
            by_origin = {f"{table}/{path.name}:{n}": e for n, e in enumerate(entries, 1)}

            async def rows(
                new: Sequence[str], by_origin: dict[str, Any] = by_origin
            ) -> list[tuple[Any, ...]]:
                return [row(origin, by_origin[origin]) for origin in new]

            await self._copy(table, table, "origin", list(by_origin), rows, into)
