"""The deployment of docs/deploy.md, started by the tests on loopback: two `python -m web`
processes on one PostgreSQL database and one Redis, each with its own empty data folder, behind
haproxy running deploy/haproxy.cfg itself.

The database is seeded with tickets and operators before the processes start.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from storage import Message, Operator, StatusChange, Ticket, open_backend
from tests.conftest import ROOT
from tests.processes import WebProcess
from tests.servers import START_TIMEOUT, free_port, require_servers
from tests.web.conftest import LAURA, MARCO, password_hash
from web.config import Config
from web.desk.tokens import TokenSigner

HAPROXY = Path("/usr/sbin/haproxy")
SECRET = "deployment-test-key-0123456789abcdef"
TICKETS = 40
# What Debian's /etc/haproxy/haproxy.cfg has above the desk's sections, minus what needs root.
HAPROXY_GLOBAL = "global\n    maxconn 4000\n    log stderr format raw local0\n\n"


@dataclass(frozen=True)
class Seeded:
    number: str
    email: str

    @property
    def token(self) -> str:
        return TokenSigner(SECRET.encode(), Config().ticket_token_hours * 3600).issue(self.number)


async def seed(database_url: str, folder: Path) -> list[Seeded]:
    store = await open_backend(folder, database_url)
    try:
        for account in (LAURA, MARCO):
            await store.operators.put(
                Operator(
                    username=account.username,
                    name=account.name,
                    role="operator",
                    password_hash=password_hash(account.password),
                )
            )
        seeded = []
        for n in range(TICKETS):
            email = f"iscritto{n}@example.org"

            def build(number: str, email: str = email) -> Ticket:
                return Ticket(
                    number=number,
                    email=email,
                    name="Rossi Mario",
                    phone="+393331234567",
                    topic="immatricolazioni",
                    subtopic="tasse-pagamenti",
                    messages=[
                        Message(
                            id=f"m{number}",
                            author="student",
                            name="Rossi Mario",
                            body="Ho pagato la prima rata ma risulta ancora da pagare.",
                        )
                    ],
                    history=[StatusChange(status="open", by="student")],
                )

            ticket = await store.tickets.create(build)
            seeded.append(Seeded(ticket.number, email))
        return seeded
    finally:
        await store.close()


class HAProxy:
    def __init__(self, folder: Path, port: int, backends: list[WebProcess]) -> None:
        self.port = port
        shipped = (ROOT / "deploy" / "haproxy.cfg").read_text()
        swaps = {"bind :80\n": f"bind 127.0.0.1:{self.port}\n"}
        swaps |= {f"127.0.0.1:808{n}": f"127.0.0.1:{b.port}" for n, b in enumerate(backends, 1)}
        for old, new in swaps.items():
            assert old in shipped, f"deploy/haproxy.cfg no longer has {old!r}"
            shipped = shipped.replace(old, new)
        self.config = folder / "haproxy.cfg"
        self.config.write_text(HAPROXY_GLOBAL + shipped)
        self._log_path = folder / "haproxy.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = open(self._log_path, "ab")  # noqa: SIM115 - kept for the process
        self._process = subprocess.Popen(
            [str(HAPROXY), "-db", "-f", str(self.config)], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        wait_for(f"{self.url}/healthz", self._process, self.log)

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return self._log_path.read_text(errors="replace")[-8000:]
        return ""

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None


def wait_for(url: str, process: subprocess.Popen[bytes] | None, log: Callable[[], str]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                return
        if process is None or process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited:\n{log()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer:\n{log()}")
        time.sleep(0.1)


@dataclass
class Deployment:
    a: WebProcess
    b: WebProcess
    proxy: HAProxy
    redis_url: str
    tickets: list[Seeded]
    _unused: Iterator[Seeded]

    def ticket(self) -> Seeded:
        """A seeded ticket no other test has used (their limits and live rooms stay apart)."""
        return next(self._unused)


@contextlib.contextmanager
def start_deployment(redis_url: str, database_url: str) -> Iterator[Deployment]:
    if not HAPROXY.exists():
        require_servers(f"{HAPROXY} is missing", "apt-get install haproxy, or run make server-deps")
    folder = Path(tempfile.mkdtemp(prefix="helpdesk-deployment-"))
    processes: list[WebProcess] = []
    proxy: HAProxy | None = None
    try:
        # A thread of its own: a session fixture has no event loop to borrow.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            seeded = pool.submit(asyncio.run, seed(database_url, folder / "seed")).result()
        proxy_port = free_port()
        env = {
            "HELPDESK_SECRET_KEY": SECRET,
            "HELPDESK_DATABASE_URL": database_url,
            "HELPDESK_REDIS_URL": redis_url,
            "HELPDESK_PUBLIC_URL": f"http://127.0.0.1:{proxy_port}",
            "HELPDESK_TRUSTED_PROXIES": "127.0.0.1",
        }
        processes = [WebProcess(name, folder / name, env) for name in ("a", "b")]
        for process in processes:
            process.start()
        for process in processes:
            process.wait_ready()
        proxy = HAProxy(folder, proxy_port, processes)
        proxy.start()
        yield Deployment(processes[0], processes[1], proxy, redis_url, seeded, iter(seeded))
    finally:
        if proxy is not None:
            proxy.stop()
        for process in processes:
            process.stop()
        shutil.rmtree(folder, ignore_errors=True)
