"""`python -m web` as a process of its own, the way systemd runs it: for the tests that kill
one or run several on one database, and for the benchmark (bench/storage.py imports it)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from tests.servers import START_TIMEOUT, free_port

ROOT = Path(__file__).resolve().parent.parent
FAQ_DIR = ROOT / "faq_data"


class WebProcess:
    """One server process with its own port and data folder; env adds settings (the database,
    the secret key) to a clean environment."""

    def __init__(self, name: str, folder: Path, env: Mapping[str, str]) -> None:
        self.name = name
        self.port = free_port()
        self.folder = folder
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HELPDESK_HOST": "127.0.0.1",
            "HELPDESK_FAQ_DIR": str(FAQ_DIR),
            **env,
            "HELPDESK_PORT": str(self.port),
            "HELPDESK_DATA_DIR": str(folder),
        }
        self._log_path = folder.parent / f"{name}.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError(f"{self.name} is not running")
        return self._process.pid

    def start(self) -> None:
        log = open(self._log_path, "ab")  # noqa: SIM115 - kept for the process
        self._process = subprocess.Popen(
            [sys.executable, "-m", "web"], cwd=ROOT, env=self.env, stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def wait_ready(self) -> None:
        """Until /healthz answers; RuntimeError with the log if the process exits first."""
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response,
            ):
                if response.status == 200:
                    return
            if self._process is None or self._process.poll() is not None:
                raise RuntimeError(f"{self.name}: the process exited:\n{self.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not answer:\n{self.log()}")
            time.sleep(0.1)

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return self._log_path.read_text(errors="replace")
        return ""

    def restart(self) -> None:
        self.stop()
        self.start()
        self.wait_ready()

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash or the OOM killer."""
        if self._process is not None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait()
            self._process = None

    def stop(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGTERM)  # what systemctl stop sends
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
