"""The storage as the web layer sees it: open a data folder, use its stores, close it."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from types import TracebackType

from .attachments import AttachmentStore
from .concurrency import Gate
from .conversations import ConversationStore
from .errors import DamagedFile, StorageError
from .files import ensure_dir, sweep_temp
from .folderlock import FolderLock
from .journal import AuditLog, FaqEventLog
from .layout import Layout
from .misplaced import copy_inside, copy_inside_reason
from .operators import OperatorStore
from .outbox import FolderOutbox
from .ownership import require_own_folder
from .scan import scan_folder
from .sessions import MemorySessions
from .ticket_index import TicketIndex
from .tickets import TicketStore

log = logging.getLogger(__name__)


class Storage:
    """Everything persistent. Build it with `await Storage.open(data_dir)`; one process at a
    time may hold a data folder open."""

    def __init__(self, data_dir: Path) -> None:
        self.layout = Layout(data_dir)
        self._lock = FolderLock(data_dir)
        self._gate = Gate()
        self._index = TicketIndex()
        self.tickets = TicketStore(self.layout, self._index, self._gate)
        self.outbox = FolderOutbox(self.tickets, self._index)
        self.conversations = ConversationStore(self.layout, self._gate)
        self.operators = OperatorStore(data_dir)
        self.attachments = AttachmentStore(self.layout, self._gate)
        self.audit = AuditLog(self.layout.audit, self._gate)
        self.faq_events = FaqEventLog(self.layout.faq_events, self._gate)
        self.sessions = MemorySessions()

    @classmethod
    async def open(cls, data_dir: Path) -> Storage:
        """Create the layout, take the folder, sweep what a crash left, read and verify every
        file, build the indexes. DataFolderBusy if another process has the folder; DamagedFile
        (listing every bad file) if anything cannot be read: the server must not start over
        damage, as its first write could destroy what is still recoverable."""
        storage = cls(Path(data_dir))
        try:
            await asyncio.to_thread(storage._open)
        except OSError as e:
            # A folder we may not create or read: say which, instead of a bare traceback.
            where = e.filename or data_dir
            message = f"cannot use the data folder {data_dir}: {where}: {e.strerror}"
            raise StorageError(message) from e
        return storage

    def _open(self) -> None:
        started = time.perf_counter()
        if inside := copy_inside(self.layout.root):
            raise StorageError(f"the data folder {self.layout.root} {copy_inside_reason(inside)}")
        for folder in (self.layout.root, *self.layout.top_folders()):
            ensure_dir(folder)
        require_own_folder(self.layout.root)
        self._lock.acquire()
        try:
            swept = sweep_temp(self.layout.folders_with_temp_files())
            swept += self.operators.sweep_sync()
            problems, missing = scan_folder(
                self.layout,
                index=self._index,
                audit=self.audit.journal,
                faq_events=self.faq_events.journal,
                repair=True,
            )
            if problems:
                raise DamagedFile.of(problems)
        except BaseException:
            self._lock.release()
            raise
        for path, reason in missing:
            log.warning("%s: %s", path, reason)
        log.info(
            "opened %s: %d tickets in %.2f s; %d temporary files from a crash removed",
            self.layout.root, len(self._index), time.perf_counter() - started, len(swept),
        )

    async def close(self) -> None:
        """Wait for the writes in flight, refuse new ones, release the folder. Idempotent."""
        if not self._lock.held:
            return
        await self._gate.close()
        # The journals' last entries and the chats' last steps are queued for a group flush:
        # on disk before we let go.
        await self.conversations.flush()
        await self.audit.flush()
        await self.faq_events.flush()
        self._lock.release()

    async def __aenter__(self) -> Storage:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
