"""Which chats reached the FAQ step, and which of those an FAQ solved, sorted by the moment of
their first search: the deflection rate reads one window of it without reading the events of
the others. Pure data, no I/O; FaqEventLog feeds it every event it reads or appends."""

from __future__ import annotations

import bisect
from collections.abc import Iterable

from .models import ChatsReached, FaqEvent

SEARCHES = ("suggested", "no_match")  # the assistant searched the FAQ for the student's question


class FaqChats:
    def __init__(self) -> None:
        self._first: dict[str, str] = {}  # conversation id -> its first search
        self._solved: set[str] = set()
        # (first search, conversation id), sorted: every chat, and the solved ones, so that a
        # window is counted by bisection
        self._searched: list[tuple[str, str]] = []
        self._solved_searched: list[tuple[str, str]] = []

    def add(self, events: Iterable[FaqEvent]) -> None:
        for event in events:
            chat = event.conversation_id
            if chat is None:  # no chat to count it in
                continue
            if event.kind == "solved":
                self._solve(chat)
            elif event.kind in SEARCHES:
                self._search(chat, event.at)

    def _solve(self, chat: str) -> None:
        if chat in self._solved:
            return
        self._solved.add(chat)
        first = self._first.get(chat)
        if first is not None:
            _insert(self._solved_searched, (first, chat))

    def _search(self, chat: str, at: str) -> None:
        first = self._first.get(chat)
        if first is not None and first <= at:
            return
        lists = [self._searched, *([self._solved_searched] if chat in self._solved else [])]
        for entries in lists:
            if first is not None:
                del entries[bisect.bisect_left(entries, (first, chat))]
            _insert(entries, (at, chat))
        self._first[chat] = at

    def drop_before(self, moment: str) -> None:
        """Forget the chats whose first search came before `moment`: their events are gone
        (the retention)."""
        cut = bisect.bisect_left(self._searched, (moment,))
        for _, chat in self._searched[:cut]:
            del self._first[chat]
            self._solved.discard(chat)
        del self._searched[:cut]
        del self._solved_searched[: bisect.bisect_left(self._solved_searched, (moment,))]

    def between(self, since: str, until: str) -> ChatsReached:
        return ChatsReached(
            _count(self._searched, since, until), _count(self._solved_searched, since, until)
        )


def _insert(entries: list[tuple[str, str]], entry: tuple[str, str]) -> None:
    # Events arrive in time order, so this is nearly always an append.
    if not entries or entries[-1] < entry:
        entries.append(entry)
    else:
        bisect.insort(entries, entry)


def _count(entries: list[tuple[str, str]], since: str, until: str) -> int:
    return bisect.bisect_left(entries, (until,)) - bisect.bisect_left(entries, (since,))
