"""The storage in a PostgreSQL database, shared by any number of processes."""

from __future__ import annotations

import logging
from types import TracebackType

from .database import Db, connect, migrate, open_pool, shown
from .journals import AuditLog, FaqEventLog
from .outbox import OutboxStore
from .records import AttachmentStore, ConversationStore, OperatorStore
from .sessions import SessionStore
from .tickets import TicketStore

log = logging.getLogger(__name__)


class PostgresStorage:
    """Build it with `await PostgresStorage.open(url)`. The same stores as the data folder's
    Storage (storage/protocol.py), with nothing kept in memory that another process could
    contradict."""

    def __init__(self, db: Db) -> None:
        self._db = db
        self.tickets = TicketStore(db)
        self.outbox = OutboxStore(db, self.tickets)
        self.conversations = ConversationStore(db)
        self.operators = OperatorStore(db)
        self.attachments = AttachmentStore(db)
        self.audit = AuditLog(db)
        self.faq_events = FaqEventLog(db)
        self.sessions = SessionStore(db)

    @classmethod
    async def open(cls, url: str) -> PostgresStorage:
        """Connect, bring the schema up to date, open the pool. StorageError saying what to
        check when the database cannot be reached (the URL shown without its password)."""
        conn = await connect(url)
        try:
            applied = await migrate(conn, url)
        finally:
            await conn.close()
        if applied:
            log.info("database %s: applied %s", shown(url), ", ".join(applied))
        pool = await open_pool(url)
        log.info("opened the database %s", shown(url))
        return cls(Db(pool, url))

    async def close(self) -> None:
        """Wait for the writes in flight, refuse new ones, write the queued FAQ events, close
        the pool. Idempotent."""
        await self._db.gate.close()
        await self.faq_events.flush()
        await self._db.pool.close()

    async def __aenter__(self) -> PostgresStorage:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
