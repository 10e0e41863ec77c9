"""The live FAQ index: editors' changes are picked up without a restart.

The folder is polled (a stat of a few dozen files every couple of seconds costs nothing);
a changed folder is loaded off the event loop, and only a valid corpus replaces the live
index. An invalid edit leaves students with the last good FAQ and logs every problem.

Editors never read the log: the process also remembers what it serves and, when the latest
change on disk was refused, when and why (`status`), for the console's FAQ report. Each process
polls on its own, so each tells its own state.

The last good FAQ also outlives a restart: each corpus that loads is kept in the data folder
(LAST_GOOD), and a process that starts on a broken folder serves that copy until the editor
fixes it. Without the copy, a restart after a bad edit (a deploy, a reboot, a crash) would take
the whole desk down.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.faq import CorpusError, FaqIndex, Problem
from storage.files import atomic_write

log = logging.getLogger("helpdesk.faq")

LAST_GOOD = "faq-last-good.json"  # in the data folder


def corpus_files(root: Path) -> list[Path]:
    return [
        root / "topics.json",
        root / "synonyms.json",
        root / "replies.json",
        *sorted((root / "faq").glob("*.json")),
    ]


def fingerprint(root: Path) -> tuple[tuple[str, int, int], ...]:
    out = []
    for path in corpus_files(root):
        try:
            st = path.stat()
        except OSError:
            continue
        out.append((str(path), st.st_mtime_ns, st.st_size))
    return tuple(out)


@dataclass(frozen=True)
class Refusal:
    """The latest change on disk did not load: since when, and every problem of the folder."""

    at: datetime
    problems: tuple[Problem, ...]


def _now() -> datetime:
    return datetime.now(UTC)


class LiveFaq:
    def __init__(self, root: Path, interval: float, last_good: Path | None = None) -> None:
        """`last_good`: where the last corpus that loaded is kept (None: nowhere). An invalid
        corpus at start without such a copy raises CorpusError."""
        self.root = root
        self.interval = interval
        self.last_good = last_good
        self._seen = fingerprint(root)
        self.refused: Refusal | None = None
        started = self.loaded_at = _now()  # when the corpus in use was loaded
        try:
            self.index = FaqIndex.from_directory(root)
        except CorpusError as exc:
            self.index = self._from_last_good(exc)  # loaded_at: when that copy loaded
            self.refused = Refusal(started, tuple(exc.problems))
        else:
            self._keep()
        self._task: asyncio.Task[None] | None = None

    def _keep(self) -> None:
        """Copies the folder just loaded to `last_good`, unless it changed meanwhile (the copy
        must be the corpus that loaded; the reload of the change keeps its own)."""
        if self.last_good is None:
            return
        try:
            files = {
                str(path.relative_to(self.root)): path.read_text(encoding="utf-8-sig")
                for path in corpus_files(self.root)
                if path.exists()
            }
            if fingerprint(self.root) != self._seen:
                return
            saved = {"saved_at": datetime.now(UTC).isoformat(timespec="seconds"), "files": files}
            self.last_good.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.last_good, json.dumps(saved, ensure_ascii=False).encode())
        except OSError as exc:  # the FAQ is live all the same; only the fallback is missing
            log.warning("FAQ: cannot keep a copy of the last good version in %s: %s",
                        self.last_good, exc)

    def _from_last_good(self, problem: CorpusError) -> FaqIndex:
        if self.last_good is None or not self.last_good.exists():
            raise problem
        try:
            saved = json.loads(self.last_good.read_text(encoding="utf-8"))
            with tempfile.TemporaryDirectory(prefix="faq-last-good-") as folder:
                for name, content in saved["files"].items():
                    path = Path(folder) / name
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(content, encoding="utf-8")
                index = FaqIndex.from_directory(folder)
            self.loaded_at = datetime.fromisoformat(saved["saved_at"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            # a damaged copy, or one that newer rules refuse: the folder's problems are the news
            log.warning("FAQ: the copy in %s cannot be used either: %s", self.last_good, exc)
            raise problem from None
        for line in problem.problems:
            log.error("FAQ folder %s not loaded: %s", self.root, line)
        log.error(
            "FAQ: serving the last good version, kept on %s, until the folder is fixed "
            "(check it with: python -m bot.faq validate %s)", saved["saved_at"], self.root,
        )
        return index

    async def reload_if_changed(self) -> bool:
        """True when a new corpus went live."""
        current = fingerprint(self.root)
        if current == self._seen:
            return False
        self._seen = current
        try:
            index = await asyncio.to_thread(FaqIndex.from_directory, self.root)
        except CorpusError as exc:
            self.refused = Refusal(_now(), tuple(exc.problems))
            for problem in exc.problems:
                log.error("FAQ not reloaded, the previous version stays online: %s", problem)
            return False
        self.index, self.loaded_at, self.refused = index, _now(), None
        log.info("FAQ reloaded: %d FAQs", len(index.faqs))
        await asyncio.to_thread(self._keep)
        return True

    def status(self, lang: str) -> dict[str, Any]:
        """What this process serves, for the editors: how many FAQs, loaded when, and the
        latest refused change (its problems as `validate` prints them, in `lang`), or None."""
        refused = self.refused
        return {
            "faqs": len(self.index.faqs),
            "loaded_at": self.loaded_at.isoformat(timespec="seconds"),
            "refused": None if refused is None else {
                "at": refused.at.isoformat(timespec="seconds"),
                "problems": [p.line(lang) for p in refused.problems],
            },
        }

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
