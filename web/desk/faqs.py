"""The live FAQ index: editors' changes are picked up without a restart.

The folder is polled (a stat of a few dozen files every couple of seconds costs nothing);
a changed folder is loaded off the event loop, and only a valid corpus replaces the live
index. An invalid edit leaves students with the last good FAQ and logs every problem.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from bot.faq import CorpusError, FaqIndex

log = logging.getLogger("helpdesk.faq")


def fingerprint(root: Path) -> tuple[tuple[str, int, int], ...]:
    files = [root / "topics.json", root / "synonyms.json", *sorted((root / "faq").glob("*.json"))]
    out = []
    for path in files:
        try:
            st = path.stat()
        except FileNotFoundError:
            continue
        out.append((str(path), st.st_mtime_ns, st.st_size))
    return tuple(out)


class LiveFaq:
    def __init__(self, root: Path, interval: float) -> None:
        self.root = root
        self.interval = interval
        self._seen = fingerprint(root)
        self.index = FaqIndex.from_directory(root)  # an invalid corpus at start is fatal
        self._task: asyncio.Task[None] | None = None

    async def reload_if_changed(self) -> bool:
        """True when a new corpus went live."""
        current = fingerprint(self.root)
        if current == self._seen:
            return False
        self._seen = current
        try:
            index = await asyncio.to_thread(FaqIndex.from_directory, self.root)
        except CorpusError as exc:
            for problem in exc.problems:
                log.error("FAQ not reloaded, the previous version stays online: %s", problem)
            return False
        self.index = index
        log.info("FAQ reloaded: %d FAQs", len(index.faqs))
        return True

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.reload_if_changed()
            except Exception:  # a watcher that dies would silently freeze the FAQ
                log.exception("FAQ reload failed")

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
