"""Operator sessions: server-side, in memory, with idle and absolute expiry.

The cookie carries nothing but a random id (256 bits from `secrets`); who is signed in, since
when and the CSRF token live here. Only ids this store drew are accepted, and every login draws a
new one (a session id planted before login is worthless afterwards). Memory is the whole truth
because one process serves a data folder (storage refuses a second one): a restart signs every
operator out, which costs them one login and keeps no session on disk to steal.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

COOKIE = "helpdesk_console"
# A working day: even an operator who never pauses signs in again the next morning.
ABSOLUTE_SECONDS = 12 * 3600


@dataclass
class Session:
    id: str
    username: str
    # The account's password hash at login: when it changes, the session is over.
    credential: str
    csrf_token: str
    created: float
    last_seen: float
    # Socket.IO connections opened with this session, closed when it ends.
    sids: set[str] = field(default_factory=set)

    def csrf_ok(self, token: object) -> bool:
        return isinstance(token, str) and hmac.compare_digest(
            token.encode(), self.csrf_token.encode()
        )


class SessionStore:
    def __init__(
        self,
        idle_seconds: float,
        absolute_seconds: float = ABSOLUTE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.idle = idle_seconds
        self.absolute = absolute_seconds
        self._clock = clock
        self._sessions: dict[str, Session] = {}

    def create(self, username: str, credential: str) -> Session:
        now = self._clock()
        session = Session(
            id=secrets.token_urlsafe(32),
            username=username,
            credential=credential,
            csrf_token=secrets.token_urlsafe(32),
            created=now,
            last_seen=now,
        )
        self._sessions[session.id] = session
        return session

    def _alive(self, session: Session, now: float) -> bool:
        return now - session.last_seen < self.idle and now - session.created < self.absolute

    def get(self, session_id: str | None, *, touch: bool = True) -> Session | None:
        """The live session with this id, or None (unknown, idle too long or too old).
        touch: the operator did something, so the idle clock starts again."""
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is None:
            return None
        now = self._clock()
        if not self._alive(session, now):
            del self._sessions[session_id]
            return None
        if touch:
            session.last_seen = now
        return session

    def drop(self, session_id: str) -> Session | None:
        return self._sessions.pop(session_id, None)

    def drop_user(self, username: str) -> list[Session]:
        """End every session of an account (deactivated, or its password changed)."""
        ended = [s for s in self._sessions.values() if s.username == username]
        for session in ended:
            del self._sessions[session.id]
        return ended

    def expired(self) -> list[Session]:
        """Remove and return the sessions that ran out, so their sockets can be closed."""
        now = self._clock()
        gone = [s for s in self._sessions.values() if not self._alive(s, now)]
        for session in gone:
            del self._sessions[session.id]
        return gone

    def __len__(self) -> int:
        return len(self._sessions)
