"""Operator sessions in PostgreSQL, so that a console signed in on one process is signed in
on all of them, and a restart signs nobody out."""

from __future__ import annotations

from ..models import Lifetime, OperatorSession
from ..sessions import session_key
from .database import Db, Row

COLUMNS = "key, username, credential, csrf_token, created, last_seen"
ALIVE = "%(now)s - last_seen < %(idle)s AND %(now)s - created < %(absolute)s"


def _session(row: Row) -> OperatorSession:
    return OperatorSession(*row)


class SessionStore:
    def __init__(self, db: Db) -> None:
        self._db = db

    async def add(self, session: OperatorSession) -> None:
        await self._db.run(
            f"INSERT INTO operator_sessions ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)",
            (
                session.key, session.username, session.credential, session.csrf_token,
                session.created, session.last_seen,
            ),
        )

    async def get(
        self, session_id: str, now: float, lifetime: Lifetime, *, touch: bool = True
    ) -> OperatorSession | None:
        params = {
            "key": session_key(session_id), "now": now, "touch": touch,
            "idle": lifetime.idle, "absolute": lifetime.absolute,
        }
        rows = await self._db.run(
            "UPDATE operator_sessions SET last_seen = CASE WHEN %(touch)s THEN %(now)s"
            f" ELSE last_seen END WHERE key = %(key)s AND {ALIVE} RETURNING {COLUMNS}",
            params,
        )
        return _session(rows[0]) if rows else None

    async def drop(self, session_id: str) -> OperatorSession | None:
        rows = await self._db.run(
            f"DELETE FROM operator_sessions WHERE key = %s RETURNING {COLUMNS}",
            (session_key(session_id),),
        )
        return _session(rows[0]) if rows else None

    async def drop_user(self, username: str) -> list[OperatorSession]:
        rows = await self._db.run(
            f"DELETE FROM operator_sessions WHERE username = %s RETURNING {COLUMNS}", (username,)
        )
        return [_session(row) for row in rows]

    async def expire(self, now: float, lifetime: Lifetime) -> list[OperatorSession]:
        rows = await self._db.run(
            f"DELETE FROM operator_sessions WHERE NOT ({ALIVE}) RETURNING {COLUMNS}",
            {"now": now, "idle": lifetime.idle, "absolute": lifetime.absolute},
        )
        return [_session(row) for row in rows]
