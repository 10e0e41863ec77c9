"""Signed, expiring ticket tokens: the student's proof of having given email + number.

A token names one ticket and an expiry, signed with HMAC-SHA256; it opens that ticket and
nothing else. Nothing is stored server-side, so a restart keeps students logged in.

The expiry also says when the token was issued (every token lives `ttl`): a token issued before
its ticket was created was signed for an earlier ticket under that number, one that a restored
backup lost and that the number was drawn again for (web/desk/students.py, `opened_by`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time


class TokenSigner:
    def __init__(self, key: bytes, ttl_seconds: int) -> None:
        self._key = hashlib.sha256(b"ticket-token:" + key).digest()
        self.ttl = ttl_seconds

    def _mac(self, payload: str) -> str:
        digest = hmac.new(self._key, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def issue(self, number: str, now: float | None = None) -> str:
        expires = int((now if now is not None else time.time()) + self.ttl)
        payload = f"{number}.{expires}"
        return f"{payload}.{self._mac(payload)}"

    def verify(self, token: str, now: float | None = None) -> str | None:
        """The ticket number the token opens, or None when forged, malformed or expired."""
        granted = self.grant(token, now)
        return granted[0] if granted is not None else None

    def grant(self, token: str, now: float | None = None) -> tuple[str, float] | None:
        """(the ticket number the token opens, the moment it was issued), or None as verify."""
        # Ours are ASCII; a header's undecodable bytes arrive as lone surrogates, which
        # neither encode nor compare.
        if not token.isascii():
            return None
        try:
            number, expires, mac = token.strip().split(".")
            expiry = int(expires)
        except ValueError:
            return None
        if not hmac.compare_digest(mac, self._mac(f"{number}.{expires}")):
            return None
        if expiry < (now if now is not None else time.time()):
            return None
        return number, float(expiry - self.ttl)
