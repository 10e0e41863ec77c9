"""What several processes of one desk share through Redis (HELPDESK_REDIS_URL, CONTRACT.md
section 7): the live events (live.py), the abuse limits (counters.py) and presence
(presence.py), each the Redis home of a protocol the application layer defines, over one
client that knows whether Redis answers (link.py). Without Redis the in-process homes serve.

When Redis goes away while the desk runs, nothing stops: live events reach the sockets of the
process that emits them, limits count per process, presence shows this process's sockets; the
outage is logged once, and everything is shared again when Redis answers.
"""

from __future__ import annotations

from web.cluster.counters import RedisCounters
from web.cluster.link import RedisLink, RedisUnreachable
from web.cluster.live import RedisLive
from web.cluster.presence import RedisPresence
from web.config import ConfigError

__all__ = ["STICKY_COOKIE", "Cluster", "RedisUnreachable"]

# The engine.io session id, named as deploy/haproxy.cfg reads it from the handshake's answer.
# Nothing reads it from the browser, which may well drop it (the widget runs cross-site).
STICKY_COOKIE = {"name": "io", "path": "/socket.io/", "HttpOnly": True, "SameSite": "Lax"}


class Cluster:
    def __init__(self, url: str) -> None:
        self.link = RedisLink(url)
        self.live = RedisLive(self.link)
        self.presence = RedisPresence(self.link)

    def counters(self, secret: bytes) -> RedisCounters:
        """The abuse limits' home; secret: the deployment's, known once the app starts."""
        return RedisCounters(self.link, secret)

    async def start(self, key_check: str) -> None:
        """Refuse to start (RedisUnreachable) if Redis does not answer: a process that
        started alone would quietly be a second, separate help desk; and (ConfigError) if the
        processes running sign with another key (key_check: web/desk/secret.fingerprint)."""
        await self.link.check()
        # Shown before looking: of two processes starting together, the one that looks last
        # sees the other's key (Redis runs one command at a time), so no two differing keys
        # both start.
        self.presence.key_check = key_check
        await self.presence.beat()
        others = await self.presence.keys_elsewhere() - {key_check}
        if others:
            await self.presence.stop()  # nothing started: the process stops here
            await self.link.close()
            raise ConfigError(
                "HELPDESK_SECRET_KEY differs from the key of another process running or "
                "starting on this Redis: students' links would open on some processes and not on "
                "others. Give every process the same key; to change it, stop them all first (one "
                "killed without a stop counts for 30 s more)."
            )
        await self.live.start()
        self.presence.start()

    async def stop(self) -> None:
        await self.presence.stop()
        await self.live.stop()
        await self.link.close()
