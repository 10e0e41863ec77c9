"""Reaching the database: the URL as it may be shown, the first connection with an error that
says what to check, the schema brought up to date, and the pool the stores share."""

from __future__ import annotations

import contextlib
import re
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from importlib import resources
from typing import Any, TypeVar

import orjson
import psycopg
from psycopg import AsyncConnection
from psycopg.abc import QueryNoTemplate
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import set_json_loads
from psycopg_pool import AsyncConnectionPool, PoolClosed, PoolTimeout

from ..concurrency import Gate, finish
from ..errors import DatabaseUnavailable, StorageError

T = TypeVar("T")
Row = tuple[Any, ...]
Params = Sequence[Any] | Mapping[str, Any]

CONNECT_SECONDS = 10
POOL_SIZE = 10
# How long a request waits for a connection before it fails with DatabaseUnavailable (503):
# while the database is away, a few seconds, not the pool's default half minute.
WAIT_SECONDS = 5.0
# The pool tries to reconnect with a growing back-off (1, 2, 4 s...) for this long, then gives
# up until the next request asks again, which starts at once: so a process is back within a
# few seconds of the database, however long it was away.
RECONNECT_SECONDS = 5.0
# Any constant shared by every process of the service: the first to start migrates, the
# others wait for it instead of migrating the same tables at once.
MIGRATION_LOCK = 0x68656C70  # "help"
MIGRATION = re.compile(r"([0-9]{4})_[a-z0-9_]+\.sql")


def shown(url: str) -> str:
    """The URL without its password, for messages and logs. Also for key=value strings."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "(an unreadable URL)"
    user = parts.get("user")
    host = parts.get("host") or "localhost"
    port = parts.get("port") or "5432"
    name = parts.get("dbname") or user or ""
    return f"postgresql://{f'{user}@' if user else ''}{host}:{port}/{name}"


def unreachable(url: str, cause: BaseException) -> DatabaseUnavailable:
    """One line, for a log or a terminal: libpq's reason spans several."""
    reason = " ".join(str(cause).split()) or type(cause).__name__
    return DatabaseUnavailable(
        f"cannot reach the database {shown(url)}: {reason}. "
        "Check that PostgreSQL is running and accepts connections at that host and port "
        "(listen_addresses, a firewall), that the user, password and database name in "
        "HELPDESK_DATABASE_URL are right and the database exists, and that pg_hba.conf "
        "lets this host in."
    )


async def connect(url: str) -> AsyncConnection:
    try:
        conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        # libpq's reason quotes the URL, and with it perhaps the password: not shown.
        raise StorageError(
            "HELPDESK_DATABASE_URL is not a PostgreSQL URL; "
            "expected postgresql://user:password@host:port/database"
        ) from None
    try:
        return await AsyncConnection.connect(
            url, autocommit=True, connect_timeout=CONNECT_SECONDS
        )
    except psycopg.Error as e:
        raise unreachable(url, e) from None


def migrations() -> list[tuple[int, str, str]]:
    """(version, file name, SQL), in order."""
    found = []
    for entry in (resources.files(__package__) / "migrations").iterdir():
        match = MIGRATION.fullmatch(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def not_allowed(url: str, role: str, cause: psycopg.Error) -> StorageError:
    """Since PostgreSQL 15 only the database's owner may create in schema public, so a role
    made for the help desk but not given the database cannot build the schema."""
    reason = cause.diag.message_primary or type(cause).__name__
    return StorageError(
        f"the role {role} may not create tables in the database {shown(url)} ({reason}): "
        f"make it the database's owner (createdb --owner {role}) or, as the owner, run "
        f"GRANT CREATE ON SCHEMA public TO {role} in that database"
    )


async def migrate(conn: AsyncConnection, url: str) -> list[str]:
    """Apply the migrations this database has not had, all in one transaction (all or none);
    the names of those applied. Refuses a database migrated by newer code than this, and a
    role that may not create tables, saying what to grant."""
    try:
        return await _migrate(conn, url)
    except psycopg.errors.InsufficientPrivilege as e:
        raise not_allowed(url, conn.info.user, e) from None


async def _migrate(conn: AsyncConnection, url: str) -> list[str]:
    known = migrations()
    applied: list[str] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cur = await conn.execute("SELECT coalesce(max(version), 0) FROM schema_version")
        row = await cur.fetchone()
        current = int(row[0]) if row else 0
        newest = known[-1][0] if known else 0
        if current > newest:
            raise StorageError(
                f"the database {shown(url)} has schema version {current}, newer than this "
                f"code knows ({newest}): run the newer version of the help desk"
            )
        for version, name, sql in known:
            if version > current:
                await conn.execute(sql.encode())
                await conn.execute(
                    "INSERT INTO schema_version (version, name) VALUES (%s, %s)", (version, name)
                )
                applied.append(name)
    return applied


# A connection back in the pool within this many seconds is handed out again without a round
# trip to check it (see _check).
CHECK_IDLE_SECONDS = 2.0
_returned: weakref.WeakKeyDictionary[AsyncConnection, float] = weakref.WeakKeyDictionary()


async def _check(conn: AsyncConnection) -> None:
    """A connection the server dropped (a restart) is replaced, not handed out. Checking costs
    a round trip, which at a deadline crowd's pace was one in every two: a connection that
    worked moments ago is handed out as it is, and if the server went in those moments, its
    one failing request answers 503 and the pool replaces it."""
    if time.monotonic() - _returned.get(conn, 0.0) > CHECK_IDLE_SECONDS:
        await AsyncConnectionPool.check_connection(conn)


async def _returning(conn: AsyncConnection) -> None:
    _returned[conn] = time.monotonic()


async def _configure(conn: AsyncConnection) -> None:
    # The records' times are UTC text; tests and old records may omit the offset.
    await conn.execute("SET TIME ZONE 'UTC'")
    set_json_loads(orjson.loads, conn)  # the records read, at twice the standard module's pace


async def open_pool(url: str) -> AsyncConnectionPool[AsyncConnection]:
    pool: AsyncConnectionPool[AsyncConnection] = AsyncConnectionPool(
        url,
        kwargs={"autocommit": True, "connect_timeout": CONNECT_SECONDS},
        min_size=1,
        max_size=POOL_SIZE,
        timeout=WAIT_SECONDS,
        reconnect_timeout=RECONNECT_SECONDS,
        open=False,
        configure=_configure,
        check=_check,
        reset=_returning,
    )
    try:
        await pool.open(wait=True, timeout=CONNECT_SECONDS)
    except Exception as e:
        await pool.close()
        raise unreachable(url, e) from None
    return pool


def dumps(record: object) -> str:
    """A record as JSON text for a `json` column (NUL and other controls escaped). orjson: a
    chat's record is written at every step, 48 us with the standard module, 3 with orjson."""
    return orjson.dumps(record).decode()


class Db:
    """The pool the stores share, and the one way they use it: reads on any connection,
    writes in a transaction that runs to its end even if the caller is cancelled (so a
    connection never goes back to the pool mid-transaction), counted so close() can wait."""

    def __init__(self, pool: AsyncConnectionPool[AsyncConnection], url: str) -> None:
        self.pool = pool
        self.url = url
        self.gate = Gate()

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self.pool.connection() as conn:
                yield conn
        except PoolClosed:
            raise StorageError("the storage is closed") from None
        except (PoolTimeout, psycopg.OperationalError) as e:
            raise DatabaseUnavailable(f"the database {shown(self.url)} is unavailable: {e}") from e

    async def write(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        async with self.gate.enter():
            return await finish(self._transaction(work))

    async def write_queued(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """A write of what was acknowledged before: still allowed while the storage closes
        (the gate is shut to new work, and close() flushes the queues after it)."""
        return await finish(self._transaction(work))

    async def _transaction(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        async with self.connection() as conn, conn.transaction():
            return await work(conn)

    async def rows(self, sql: QueryNoTemplate, params: Params = ()) -> list[Row]:
        async with self.connection() as conn:
            cur = await conn.execute(sql, params)
            return await cur.fetchall()

    async def row(self, sql: QueryNoTemplate, params: Params = ()) -> Row | None:
        async with self.connection() as conn:
            cur = await conn.execute(sql, params)
            return await cur.fetchone()

    async def run(self, sql: QueryNoTemplate, params: Params = ()) -> list[Row]:
        """One write statement, atomic on its own; what it RETURNS, if anything. The pool's
        connections autocommit, so it needs no BEGIN and COMMIT around it: those were two of a
        chat step's round trips for each write."""
        async with self.gate.enter():
            return await finish(self._statement(sql, params))

    async def _statement(self, sql: QueryNoTemplate, params: Params) -> list[Row]:
        async with self.connection() as conn:
            cur = await conn.execute(sql, params)
            return await cur.fetchall() if cur.description else []
