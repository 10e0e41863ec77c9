"""What each Socket.IO event's payload must look like, checked before any handler runs.

Every event carries exactly one payload: an object with only the fields its event names, each
of the type named, strings no longer than their limit. Anything else (no payload, two, a
number, a list, an unknown field, a megabyte of text, an unknown event) is refused by the same
rule, through the guard (web/http/guard.py): one `bad_request` error event, a strike. A handler
therefore reads plain, typed fields; one the database could not serve answers `unavailable`,
and one that fails unexpectedly answers `internal` (its traceback logged with a reference),
instead of leaving the widget waiting.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import socketio

from bot.i18n import t
from storage import DatabaseUnavailable, refused_by_disk
from web.http.errors import PUBLIC_CODES
from web.http.logs import new_request_id

log = logging.getLogger("helpdesk.sockets")


@dataclass(frozen=True)
class Field:
    kinds: tuple[type, ...]
    required: bool = True
    max_length: int = 200  # for a string


Payload = Mapping[str, Field]
TEXT = (str,)
MAYBE_TEXT = (str, type(None))


def checked(payload: Payload, data: object) -> dict[str, Any] | None:
    """The payload's fields, or None when `data` does not have its shape."""
    if not isinstance(data, dict) or not set(data) <= set(payload):
        return None
    fields: dict[str, Any] = {}
    for name, field in payload.items():
        if name not in data:
            if field.required:
                return None
            continue
        value = data[name]
        # By exact type: True is not a number here, nor 1 a boolean.
        if type(value) not in field.kinds:
            return None
        if isinstance(value, str) and len(value) > field.max_length:
            return None
        fields[name] = value
    return fields


class GuardedNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """A namespace whose `on_<event>(sid, data)` handlers run only for the events in EVENTS,
    with `data` checked against the event's payload."""

    EVENTS: Mapping[str, Payload] = {}

    async def lang_of(self, sid: str) -> str:
        return "it"

    async def refuse(self, sid: str) -> None:
        await self.error(sid, "bad_request")

    async def error(self, sid: str, code: str, **params: object) -> None:
        """An `error` event, as the HTTP API words the same error, in the socket's language."""
        message = t(f"error.{code}", await self.lang_of(sid), **params)
        await self.emit("error", {"code": PUBLIC_CODES.get(code, code), "message": message}, to=sid)

    async def trigger_event(self, event: str, *args: Any) -> Any:
        # connect and disconnect come from the server itself: GuardedPacket refuses a
        # client's event of that name.
        if event in ("connect", "disconnect"):
            try:
                return await super().trigger_event(event, *args)
            except DatabaseUnavailable as exc:
                # A connection that needed the database (the console's session) is refused,
                # and the client tries again.
                log.warning("%s %s: %s", self.namespace, event, exc)
                raise socketio.exceptions.ConnectionRefusedError("unavailable") from None
        sid, payloads = args[0], args[1:]
        expected = self.EVENTS.get(event)
        data = None
        if expected is not None and len(payloads) == 1:
            data = checked(expected, payloads[0])
        if data is None:
            await self.server.guard.malformed_event(sid, self.namespace, f"event {event[:40]!r}")
            return None
        try:
            return await getattr(self, f"on_{event}")(sid, data)
        except DatabaseUnavailable as exc:
            # As the HTTP API answers 503: nothing was done; the event may be sent again.
            log.warning("%s %s: %s", self.namespace, event, exc)
            await self.error(sid, "unavailable")
            return None
        except Exception as exc:
            if refused_by_disk(exc):
                log.error("%s %s: the disk refused a write: %s", self.namespace, event, exc)
                await self.error(sid, "unavailable")
                return None
            reference = new_request_id()
            log.exception("%s %s failed, reference %s", self.namespace, event, reference)
            await self.error(sid, "internal_reference", reference=reference)
            return None
