"""The servers the load benchmark runs against, and what /proc says about them.

A `Target` is a base URL plus the processes that serve it: one `python -m web` on a data
folder, one or two on PostgreSQL + Redis (`cluster`), or the bare yardstick, started here; or
any URL given from outside (pass the pids of its processes to count their CPU and memory).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 60.0
TICKS = os.sysconf("SC_CLK_TCK")
# Everything that counts per address: every student of the benchmark comes from 127.0.0.1.
NO_ADDRESS_LIMITS = {
    "HELPDESK_CHATS_PER_IP_PER_HOUR": "0",
    "HELPDESK_CREATE_PER_IP_PER_MINUTE": "0",
    "HELPDESK_UPLOADS_PER_IP_PER_HOUR": "0",
}


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    pids: tuple[int, ...] = ()  # none: CPU and memory are not known

    def __post_init__(self) -> None:
        # The benchmark floods what it points at: only this machine.
        if urlsplit(self.url).hostname not in ("127.0.0.1", "localhost"):
            raise ValueError(f"the load benchmark only targets 127.0.0.1, not {self.url}")

    def cpu_seconds(self) -> tuple[float, float]:
        """(user, system) CPU seconds of the server processes so far, all their threads
        (fields 14 and 15 of stat)."""
        user = system = 0
        for pid in self.pids:
            stat = Path(f"/proc/{pid}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            user, system = user + int(fields[11]), system + int(fields[12])
        return user / TICKS, system / TICKS

    def rss_bytes(self) -> int:
        total = 0
        for pid in self.pids:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        return total


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent on anything but idling, since boot (/proc/stat)."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    # guest time is already counted in user and nice
    return (sum(ticks[:8]) - idle) / TICKS


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {_tail(log)}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{url}/healthz", timeout=1) as response,
        ):
            if response.status == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"server not ready in {READY_TIMEOUT:.0f} s: {_tail(log)}")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:]


@contextlib.contextmanager
def started(name: str, argv: list[str], env: dict[str, str], log: Path,
            port: int) -> Iterator[Target]:
    """A server process on `port`, its output in `log`; stopped as Ctrl+C would stop it."""
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait_ready(url, process, log)
        yield Target(name, url, (process.pid,))
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def service(folder: Path) -> Iterator[Target]:
    """`python -m web` on TinyDB in an empty data folder, with the per-address limits off."""
    port = free_port()
    data_dir = folder / "data"
    env = {
        **NO_ADDRESS_LIMITS,
        "HELPDESK_HOST": "127.0.0.1",
        "HELPDESK_PORT": str(port),
        "HELPDESK_DATA_DIR": str(data_dir),
        "HELPDESK_FAQ_DIR": str(ROOT / "faq_data"),
    }
    with started("service", [sys.executable, "-m", "web"], env, folder / "service.log",
                 port) as target:
        yield target


def cluster_missing() -> str | None:
    """Why `cluster` cannot start PostgreSQL and Redis here, or None."""
    from tests.servers import REDIS_SERVER, postgres_missing

    return postgres_missing() or (None if REDIS_SERVER.exists() else f"{REDIS_SERVER} is missing")


@contextlib.contextmanager
def cluster(folder: Path, processes: int) -> Iterator[Target]:
    """`processes` (1 or 2) `python -m web` on one PostgreSQL database with fsync on, as in
    production, and one Redis, started as the tests start them; two sit behind haproxy running
    deploy/haproxy.cfg (docs/deploy.md). The database, Redis and haproxy are not the target's
    processes: their CPU shows as the machine's other work."""
    from tests.deployment import HAProxy
    from tests.processes import WebProcess
    from tests.servers import postgres_server, redis_server

    if processes not in (1, 2):
        raise ValueError("deploy/haproxy.cfg balances two processes: --cluster 1 or 2")
    proxy_port = free_port()
    with postgres_server(durable=True) as database, redis_server() as redis:
        env = {
            **NO_ADDRESS_LIMITS,
            "HELPDESK_SECRET_KEY": "load-benchmark-key-0123456789abcdef",
            "HELPDESK_DATABASE_URL": database.url(database.new_database()),
            "HELPDESK_REDIS_URL": redis.url(),
            "HELPDESK_TRUSTED_PROXIES": "127.0.0.1",
        }
        if processes > 1:  # the origin the students' pages are served from
            env["HELPDESK_PUBLIC_URL"] = f"http://127.0.0.1:{proxy_port}"
        servers = [WebProcess(f"web{n}", folder / f"web{n}", env) for n in range(processes)]
        try:
            for server in servers:
                server.start()
            for server in servers:
                server.wait_ready()
            pids = tuple(server.pid for server in servers)
            if processes == 1:
                yield Target("service", servers[0].url, pids)
                return
            proxy = HAProxy(folder, proxy_port, servers)
            proxy.start()
            try:
                yield Target("service", proxy.url, pids)
            finally:
                proxy.stop()
        finally:
            for server in servers:
                server.stop()


@contextlib.contextmanager
def bare(folder: Path) -> Iterator[Target]:
    port = free_port()
    argv = [sys.executable, "-m", "bench.load_bare", str(port)]
    with started("bare", argv, {}, folder / "bare.log", port) as target:
        yield target
