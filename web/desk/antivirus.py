"""Attachments checked by the university's ClamAV before anyone opens them (HELPDESK_CLAMD).

The office opens students' PDFs and photos on its own machines, and none of the peer systems
scans uploads (shared/research/peer-systems.md, "What none of them provides"). clamd does the
scanning; this streams each file to it with the INSTREAM command of `man clamd` before the
file is kept, and refuses it when clamd names a signature.

When clamd cannot answer (stopped, overloaded, its signatures being reloaded), the file is
refused with a 503 the student can act on, and never kept unchecked: a scanner that is down
would otherwise open the door it guards. Nothing else of the request is lost, and a ticket
can be opened without the file.

Our own client rather than aioclamd or clamd from PyPI: they speak TCP only, where Debian's
clamd listens on a Unix socket by default, and aioclamd hops to a thread for each KiB it sends.
The protocol is four bytes of length before each chunk and a zero length at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from dataclasses import dataclass

from web.desk.errors import ApiError

log = logging.getLogger(__name__)

# A 2 MiB file takes clamd tens of milliseconds; this only bounds a clamd that hangs.
SCAN_SECONDS = 30.0
CHUNK = 64 * 1024  # below clamd's StreamMaxLength (25 MiB by default) whatever it is set to
MAX_REPLY = 4096


class ScanFailed(Exception):
    """clamd did not say whether the file is clean."""


@dataclass(frozen=True)
class Antivirus:
    """clamd at `address`: a Unix socket's path (Debian's /run/clamav/clamd.ctl) or
    host:port for its TCPSocket."""

    address: str

    async def check(self, data: bytes) -> None:
        """Return if clamd finds the file clean; else an ApiError for the sender."""
        try:
            async with asyncio.timeout(SCAN_SECONDS):
                reply = await self._instream(data)
        except (BrokenPipeError, ConnectionResetError) as e:
            # clamd hangs up mid-file when a file is over its StreamMaxLength, its reason lost
            log.error(
                "antivirus: clamd at %s hung up while a file of %d bytes was sent (%s); is its "
                "StreamMaxLength under 2 MB?", self.address, len(data), e,
            )
            raise ApiError(503, "antivirus_unavailable") from None
        except (OSError, TimeoutError, ScanFailed, asyncio.IncompleteReadError) as e:
            log.error("antivirus: clamd at %s did not scan a file: %s", self.address, e or type(e))
            raise ApiError(503, "antivirus_unavailable") from None
        if reply == "stream: OK":
            return
        if reply.startswith("stream: ") and reply.endswith(" FOUND"):
            signature = reply.removeprefix("stream: ").removesuffix(" FOUND")
            log.warning("antivirus: refused a file clamd takes for %s", signature)
            raise ApiError(422, "infected_file")
        log.error("antivirus: clamd at %s answered %r", self.address, reply[:200])
        raise ApiError(503, "antivirus_unavailable")

    async def answers(self) -> bool:
        """Whether clamd answers a PING (the start's log line says so to IT)."""
        try:
            async with asyncio.timeout(5):
                return await self._command(b"zPING\0") == "PONG"
        except (OSError, TimeoutError, ScanFailed, asyncio.IncompleteReadError):
            return False

    async def _instream(self, data: bytes) -> str:
        chunks = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]
        framed = [struct.pack("!L", len(c)) + c for c in chunks] + [struct.pack("!L", 0)]
        return await self._command(b"zINSTREAM\0", *framed)

    async def _command(self, *parts: bytes) -> str:
        reader, writer = await self._connect()
        try:
            for part in parts:
                writer.write(part)
                await writer.drain()
            reply = await reader.readuntil(b"\0")
        except asyncio.LimitOverrunError as e:
            raise ScanFailed("a reply longer than any clamd sends") from e
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        return reply[:-1].decode("utf-8", errors="replace")

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.address.startswith("/"):
            return await asyncio.open_unix_connection(self.address, limit=MAX_REPLY)
        host, _, port = self.address.rpartition(":")
        return await asyncio.open_connection(host.strip("[]"), int(port), limit=MAX_REPLY)
