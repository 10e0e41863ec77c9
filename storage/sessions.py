"""Operator sessions in memory: the data folder's store. One process serves a folder, so
memory is the whole truth; a restart signs every operator out, which costs them one login and
keeps no session on disk to steal. (PostgreSQL keeps them in a table, for every process.)"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from .models import Lifetime, OperatorSession


def session_key(session_id: str) -> str:
    """What is stored of a session id: its SHA-256, which opens nothing."""
    return hashlib.sha256(session_id.encode()).hexdigest()


class MemorySessions:
    def __init__(self) -> None:
        self._sessions: dict[str, OperatorSession] = {}

    async def add(self, session: OperatorSession) -> None:
        self._sessions[session.key] = replace(session)

    async def get(
        self, session_id: str, now: float, lifetime: Lifetime, *, touch: bool = True
    ) -> OperatorSession | None:
        session = self._sessions.get(session_key(session_id))
        if session is None or not lifetime.alive(session, now):
            return None
        if touch:
            session.last_seen = now
        return replace(session)

    async def drop(self, session_id: str) -> OperatorSession | None:
        return self._sessions.pop(session_key(session_id), None)

    async def drop_user(self, username: str) -> list[OperatorSession]:
        ended = [s for s in self._sessions.values() if s.username == username]
        for session in ended:
            del self._sessions[session.key]
        return ended

    async def expire(self, now: float, lifetime: Lifetime) -> list[OperatorSession]:
        gone = [s for s in self._sessions.values() if not lifetime.alive(s, now)]
        for session in gone:
            del self._sessions[session.key]
        return gone
