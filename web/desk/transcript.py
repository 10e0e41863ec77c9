"""The lines of a chat's transcript, as stored and as the widget draws them
(docs/protocol.md, `Entry`)."""

from __future__ import annotations

import itertools
import secrets
from typing import Any

from storage import utcnow

# Transcript entries need ids unique within a chat, not secret ones: a counter after a prefix
# drawn at start is as unique across restarts and costs no system call per entry.
_ENTRY_IDS = itertools.count()
_ENTRY_PREFIX = secrets.token_hex(3)


def entry(
    source: str, kind: str, text: str, data: Any = None, lang: str | None = None
) -> dict[str, Any]:
    """A line of the transcript; the bot's carry the language they were said in, which a
    screen reader needs once the chat has switched language (WCAG 3.1.2)."""
    return {
        "id": f"{_ENTRY_PREFIX}{next(_ENTRY_IDS):06x}",
        "from": source,
        "kind": kind,
        "text": text,
        "data": dict(data or {}),
        "at": utcnow(),
        **({"lang": lang} if lang else {}),
    }
