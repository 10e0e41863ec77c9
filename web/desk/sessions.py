"""Operator sessions, with idle and absolute expiry, kept by the storage (storage.sessions): in
memory for a data folder (one process serves it, and a restart signs every operator out), in a
table for PostgreSQL, so that a console signed in on one process is signed in on all of them
and stays so when one restarts.

The cookie carries nothing but a random id (256 bits from `secrets`); the store keeps its
SHA-256, who is signed in, since when, and the CSRF token. Only ids this service drew are
accepted, and every login draws a new one (a session id planted before login is worthless
afterwards). Times are the wall clock, which every process shares.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from storage import Lifetime, OperatorSession
from storage.protocol import Sessions
from storage.sessions import session_key

COOKIE = "helpdesk_console"
# A working day: even an operator who never pauses signs in again the next morning.
ABSOLUTE_SECONDS = 12 * 3600


@dataclass(frozen=True)
class Session:
    """A live session as its caller knows it: with the id from the cookie."""

    id: str
    username: str
    # The account's password hash at login: when it changes, the session is over.
    credential: str
    csrf_token: str

    def csrf_ok(self, token: object) -> bool:
        return isinstance(token, str) and hmac.compare_digest(
            token.encode(), self.csrf_token.encode()
        )


class SessionStore:
    def __init__(
        self,
        store: Sessions,
        idle_seconds: float,
        absolute_seconds: float = ABSOLUTE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.lifetime = Lifetime(idle_seconds, absolute_seconds)
        self._clock = clock

    async def create(self, username: str, credential: str) -> Session:
        now = self._clock()
        session_id = secrets.token_urlsafe(32)
        csrf_token = secrets.token_urlsafe(32)
        await self.store.add(
            OperatorSession(
                key=session_key(session_id),
                username=username,
                credential=credential,
                csrf_token=csrf_token,
                created=now,
                last_seen=now,
            )
        )
        return Session(session_id, username, credential, csrf_token)

    async def get(self, session_id: str | None, *, touch: bool = True) -> Session | None:
        """The live session with this id, or None (unknown, idle too long or too old).
        touch: the operator did something, so the idle clock starts again."""
        if not session_id:
            return None
        found = await self.store.get(session_id, self._clock(), self.lifetime, touch=touch)
        if found is None:
            return None
        return Session(session_id, found.username, found.credential, found.csrf_token)

    async def drop(self, session_id: str) -> None:
        await self.store.drop(session_id)

    async def drop_user(self, username: str) -> None:
        """End every session of an account (deactivated, or its password changed)."""
        await self.store.drop_user(username)

    async def expire(self) -> None:
        """Forget the sessions that ran out (their sockets are closed by whoever holds them)."""
        await self.store.expire(self._clock(), self.lifetime)
