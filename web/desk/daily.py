"""A job the desk runs once a day in the background: the retention sweep, the closing of
tickets the student left unanswered. Each run is given its moment, so that tests choose "now"
and call the job itself."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

PERIOD = timedelta(days=1)
# After a start, let the server settle (and a crash's leftovers be looked at) before a run.
FIRST_DELAY = 60.0


class Daily:
    def __init__(
        self, name: str, job: Callable[[datetime], Awaitable[object]], log: logging.Logger
    ) -> None:
        self._name = name
        self._job = job
        self._log = log
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        await asyncio.sleep(FIRST_DELAY)
        while True:
            try:
                report = await self._job(datetime.now(UTC))
                self._log.info("%s: %s", self._name, report)
            except Exception:
                self._log.exception("%s failed; trying again at the next one", self._name)
            await asyncio.sleep(PERIOD.total_seconds())
