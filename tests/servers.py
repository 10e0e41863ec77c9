"""Real servers the tests start themselves, in temporary folders, on loopback.

Redis: one server per test session (started on first use), with many databases: every test
takes a database of its own, never used before, so no test sees another's keys and none waits
for a flush.

PostgreSQL: one server per test session (started on first use) with one migrated database that
every test gets emptied (TRUNCATE: milliseconds, where CREATE DATABASE from a template takes
0.3-0.4 s on a busy 2-core machine); tests of the schema itself take a database of their own.
PostgreSQL refuses to run as root, and CI runs as root: then the server runs as Debian's
`postgres` user, in a folder that user owns.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_USER = "helpdesk"
SHARED = "helpdesk"
START_TIMEOUT = 30.0


def require_servers(what: str, install: str) -> None:
    """Skip loudly; with HELPDESK_REQUIRE_SERVERS=1 (CI) fail instead, so that a missing
    install step cannot pass unnoticed."""
    reason = f"{what}: SERVER TESTS NOT RUN ({install})"
    if os.environ.get("HELPDESK_REQUIRE_SERVERS") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_owner() -> dict[str, Any]:
    """subprocess arguments that drop root for the `postgres` account; nothing otherwise."""
    if os.geteuid() != 0:
        return {}
    account = pwd.getpwnam("postgres")
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


class PostgresServer:
    """durable: fsync and synchronous commit on, as in production (for the benchmark); the
    tests do without, since losing a test server in a power cut costs nothing."""

    def __init__(self, *, durable: bool = False) -> None:
        self.durable = durable
        self.folder = Path(tempfile.mkdtemp(prefix="helpdesk-pg-"))
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._names = itertools.count(1)
        owner = _as_owner()
        if owner:
            os.chown(self.folder, owner["user"], owner["group"])
        self._owner = owner

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            args, cwd=self.folder, capture_output=True, text=True, timeout=60, **self._owner
        )
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed:\n{done.stdout}\n{done.stderr}")

    def start(self) -> None:
        """Create the cluster on the first start; start the server (again, after halt())."""
        data = self.folder / "data"
        if not data.exists():
            self._run(
                str(PG_BIN / "initdb"), "-D", str(data), "-U", PG_USER, "--auth=trust",
                "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions",
            )
        fast = [] if self.durable else [
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
        ]
        log = open(self.folder / "postgres.log", "ab")  # noqa: SIM115 - kept for the process
        self._process = subprocess.Popen(
            [
                str(PG_BIN / "postgres"), "-D", str(data), "-p", str(self.port),
                "-c", "listen_addresses=127.0.0.1",
                "-c", f"unix_socket_directories={self.folder}",
                *fast,
                "-c", "max_connections=200", "-c", "wal_level=minimal", "-c", "max_wal_senders=0",
            ],
            cwd=self.folder, stdout=log, stderr=subprocess.STDOUT, **self._owner,
        )
        log.close()
        self._wait_ready()

    def _wait_ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with psycopg.connect(self.url(), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if self._process is not None and self._process.poll() is not None:
                    raise RuntimeError(f"postgres exited:\n{self.log()}") from None
                if time.monotonic() > deadline:
                    raise RuntimeError(f"postgres did not start:\n{self.log()}") from None
                time.sleep(0.05)

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.folder / "postgres.log").read_text(errors="replace")[-4000:]
        return ""

    def execute(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def new_database(self) -> str:
        name = f"test_{next(self._names)}"
        self.execute(f'CREATE DATABASE "{name}"')
        return name

    def empty(self, database: str) -> None:
        """Every row of every table gone, the schema (and its version) kept."""
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            # A test that left a connection in a transaction must fail, not hang the run.
            conn.execute("SET lock_timeout = '5s'")
            tables = [
                row[0]
                for row in conn.execute(
                    "SELECT quote_ident(tablename) FROM pg_tables"
                    " WHERE schemaname = 'public' AND tablename <> 'schema_version'"
                )
            ]
            if tables:
                conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")  # type: ignore[arg-type]

    def drop_database(self, name: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def halt(self) -> None:
        """Stop the server and keep its data, for start() to bring it back."""
        if self._process is not None:
            # SIGINT is PostgreSQL's fast shutdown: clients are disconnected, not waited for.
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    def stop(self) -> None:
        self.halt()
        shutil.rmtree(self.folder, ignore_errors=True)


def postgres_missing() -> str | None:
    """Why no PostgreSQL server can be started here, or None."""
    if not (PG_BIN / "postgres").exists():
        return f"{PG_BIN}/postgres is missing"
    return None


@contextlib.contextmanager
def postgres_server(*, durable: bool = False) -> Iterator[PostgresServer]:
    missing = postgres_missing()
    if missing:
        require_servers(missing, "apt-get install postgresql, or run make server-deps")
    server = PostgresServer(durable=durable)
    try:
        server.start()
        yield server
    finally:
        server.stop()


# --- Redis --------------------------------------------------------------------------------------

REDIS_SERVER = Path("/usr/bin/redis-server")
REDIS_DATABASES = 2000


class RedisServer:
    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="helpdesk-redis-"))
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._databases = itertools.count(1)

    def url(self, database: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{database}"

    def new_url(self) -> str:
        """A database no test has used."""
        database = next(self._databases)
        if database >= REDIS_DATABASES:
            raise RuntimeError(f"more than {REDIS_DATABASES} Redis databases in one run")
        return self.url(database)

    def start(self) -> None:
        log = open(self.folder / "redis.log", "wb")  # noqa: SIM115 - kept for the process
        self._process = subprocess.Popen(
            [
                str(REDIS_SERVER), "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.folder), "--save", "", "--appendonly", "no",
                "--databases", str(REDIS_DATABASES),
            ],
            cwd=self.folder, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while not self.answers():
            if self._process.poll() is not None:
                raise RuntimeError(f"redis-server exited:\n{self.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start:\n{self.log()}")
            time.sleep(0.01)

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.folder / "redis.log").read_text(errors="replace")[-4000:]
        return ""

    def kill(self) -> None:
        """Gone at once, as a crash or a cut cable: everything it held is lost."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.folder, ignore_errors=True)


@contextlib.contextmanager
def redis_server() -> Iterator[RedisServer]:
    if not REDIS_SERVER.exists():
        require_servers(
            f"{REDIS_SERVER} is missing", "apt-get install redis-server, or run make server-deps"
        )
    server = RedisServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


# --- ClamAV -------------------------------------------------------------------------------------

CLAMD = Path("/usr/sbin/clamd")
# Anything that holds this is what clamd reports as a virus: a signature of our own, so that
# the tests need neither the real signature databases (freshclam downloads them) nor a real
# virus. The name clamd gives is "Helpdesk.Test.Marker.UNOFFICIAL".
VIRUS_MARKER = b"HELPDESK-ANTIVIRUS-TEST-MARKER"


class ClamdServer:
    """clamd with our one signature, on a Unix socket and a loopback TCP port."""

    def __init__(self, settings: str = "") -> None:
        self.settings = settings  # clamd.conf lines of the test's own
        self.folder = Path(tempfile.mkdtemp(prefix="helpdesk-clamd-"))
        self.socket = self.folder / "clamd.sock"
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def tcp(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        (self.folder / "db").mkdir()
        (self.folder / "db" / "helpdesk.ndb").write_text(
            f"Helpdesk.Test.Marker:0:*:{VIRUS_MARKER.hex()}\n"
        )
        conf = self.folder / "clamd.conf"
        conf.write_text(
            f"DatabaseDirectory {self.folder / 'db'}\nLocalSocket {self.socket}\n"
            f"TCPSocket {self.port}\nTCPAddr 127.0.0.1\nForeground yes\n"
            f"LogFile {self.folder / 'clamd.log'}\n{self.settings}"
        )
        log = open(self.folder / "out.log", "wb")  # noqa: SIM115 - kept for the process
        self._process = subprocess.Popen(
            [str(CLAMD), "-c", str(conf)], cwd=self.folder, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while not self.answers():
            if self._process.poll() is not None:
                raise RuntimeError(f"clamd exited:\n{self.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"clamd did not start:\n{self.log()}")
            time.sleep(0.05)

    def answers(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX) as conn:
                conn.settimeout(1)
                conn.connect(str(self.socket))
                conn.sendall(b"zPING\0")
                return conn.recv(16).startswith(b"PONG")
        except OSError:
            return False

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.folder / "out.log").read_text(errors="replace")[-4000:]
        return ""

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        shutil.rmtree(self.folder, ignore_errors=True)


@contextlib.contextmanager
def clamd_server(settings: str = "") -> Iterator[ClamdServer]:
    if not CLAMD.exists():
        require_servers(
            f"{CLAMD} is missing", "apt-get install clamav-daemon, or run make server-deps"
        )
    server = ClamdServer(settings)
    try:
        server.start()
        yield server
    finally:
        server.stop()
