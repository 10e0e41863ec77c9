from __future__ import annotations

import secrets

from storage import Backend, Lifetime, OperatorSession
from storage.sessions import session_key

LIFE = Lifetime(idle=1800, absolute=12 * 3600)
T0 = 1_800_000_000.0


def signed_in(username: str = "lbianchi", at: float = T0) -> tuple[str, OperatorSession]:
    session_id = secrets.token_urlsafe(32)
    record = OperatorSession(
        key=session_key(session_id),
        username=username,
        credential="argon2-hash",
        csrf_token=secrets.token_urlsafe(32),
        created=at,
        last_seen=at,
    )
    return session_id, record


async def test_a_session_is_found_by_its_id_and_touched(storage: Backend) -> None:
    session_id, record = signed_in()
    await storage.sessions.add(record)
    assert await storage.sessions.get(session_id, T0 + 10, LIFE, touch=False) == record
    touched = await storage.sessions.get(session_id, T0 + 60, LIFE)
    assert touched is not None and touched.last_seen == T0 + 60
    # Idle is counted from the last touch, not from the login.
    assert await storage.sessions.get(session_id, T0 + 60 + 1799, LIFE) is not None
    assert await storage.sessions.get(record.key, T0 + 61, LIFE) is None  # the key opens nothing
    assert await storage.sessions.get("unknown", T0, LIFE) is None


async def test_idle_and_absolute_limits(storage: Backend) -> None:
    idle_id, idle = signed_in("a")
    busy_id, busy = signed_in("b")
    await storage.sessions.add(idle)
    await storage.sessions.add(busy)
    for minutes in range(20, 12 * 60, 20):  # busy works every 20 minutes all day
        assert await storage.sessions.get(busy_id, T0 + minutes * 60, LIFE) is not None
    assert await storage.sessions.get(idle_id, T0 + 1800, LIFE) is None
    assert await storage.sessions.get(busy_id, T0 + 12 * 3600, LIFE) is None
    expired = await storage.sessions.expire(T0 + 12 * 3600, LIFE)
    assert sorted(s.username for s in expired) == ["a", "b"]
    assert await storage.sessions.expire(T0 + 12 * 3600, LIFE) == []


async def test_drop_and_drop_user(storage: Backend) -> None:
    first_id, first = signed_in("lbianchi")
    second_id, second = signed_in("lbianchi")
    other_id, other = signed_in("aneri")
    for record in (first, second, other):
        await storage.sessions.add(record)
    dropped = await storage.sessions.drop(first_id)
    assert dropped == first
    assert await storage.sessions.drop(first_id) is None
    assert [s.key for s in await storage.sessions.drop_user("lbianchi")] == [second.key]
    assert await storage.sessions.get(second_id, T0, LIFE) is None
    assert await storage.sessions.get(other_id, T0, LIFE) == other
