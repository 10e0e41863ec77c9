"""How async callers share the files: one writer per file, blocking work off the event loop,
and no write abandoned half way by a cancelled caller."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from .errors import StorageError, refused_by_disk

log = logging.getLogger(__name__)
T = TypeVar("T")
RETRY_SECONDS = 1.0


class KeyedLock:
    """An asyncio.Lock per key (a file), forgotten when nobody holds or awaits it, so tens of
    thousands of tickets do not leave tens of thousands of locks behind."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, list[int]]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        entry = self._locks.get(key)
        if entry is None:
            entry = self._locks[key] = (asyncio.Lock(), [0])
        lock, users = entry
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if not users[0]:
                del self._locks[key]

    def __len__(self) -> int:
        return len(self._locks)


async def finish(work: Awaitable[T]) -> T:
    """Await work to its end even if the caller is cancelled meanwhile, then re-raise the
    cancellation. A thread writing a file cannot be stopped: if the caller let go of the file's
    lock before the thread finished, the next writer could read the old file and its write
    could land before this one, losing it; and a write that reached the disk must be indexed."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        while not task.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait([task])
        if not task.cancelled():
            task.exception()  # retrieved: the caller's cancellation is what they asked to see
        raise


class Gate:
    """Counts the writes in flight so that close() can wait for them and refuse new ones: the
    process lock must outlive the last write."""

    def __init__(self) -> None:
        self._active = 0
        self._idle = asyncio.Event()
        self.closed = False

    @contextlib.asynccontextmanager
    async def enter(self) -> AsyncIterator[None]:
        if self.closed:
            raise StorageError("the storage is closed")
        self._active += 1
        try:
            yield
        finally:
            self._active -= 1
            if not self._active:
                self._idle.set()

    async def close(self) -> None:
        self.closed = True
        while self._active:
            self._idle.clear()
            await self._idle.wait()


class GroupFlush:
    """Writes queued work soon, in one go: `schedule()` after queueing starts a flush `delay`
    seconds later (the queueing of a busy moment shares it), which calls `write` until
    `pending()` is false. `write` takes the whole queue, and on a `passing` error (a full disk,
    a database away) puts it back and raises: it is retried every RETRY_SECONDS, logged once."""

    def __init__(
        self,
        write: Callable[[], Awaitable[None]],
        pending: Callable[[], int],
        delay: float,
        what: str,
        passing: tuple[type[Exception], ...] = (OSError,),
    ) -> None:
        self._write = write
        self._pending = pending
        self._delay = delay
        self._what = what
        self._passing = passing
        self._task: asyncio.Task[None] | None = None

    def schedule(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())

    async def flush(self) -> None:
        """Return once everything queued so far is written."""
        if self._pending():
            self.schedule()
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def _run(self) -> None:
        await asyncio.sleep(self._delay)
        failing = False
        while self._pending():
            try:
                await self._write()
                failing = False
            except self._passing as exc:
                if not failing and refused_by_disk(exc):
                    log.error(
                        "%s: could not write %d queued, the disk refused a write: %s; retrying",
                        self._what, self._pending(), exc,
                    )
                elif not failing:
                    log.exception(
                        "%s: could not write %d queued; retrying", self._what, self._pending()
                    )
                failing = True
                await asyncio.sleep(RETRY_SECONDS)
