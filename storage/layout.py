"""Where everything lives under HELPDESK_DATA_DIR, and which names are allowed there.

Names that reach a path (ticket numbers, conversation and attachment ids) are checked against a
strict pattern first, so no request can walk out of its folder.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from .files import subfolders

# [0-9], not \d: \d also matches Arabic-Indic and other Unicode digits.
NUMBER = re.compile(r"[0-9]{6}")
CONVERSATION_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
ATTACHMENT_ID = re.compile(r"[0-9a-f]{32}")


def valid_number(number: str) -> bool:
    return NUMBER.fullmatch(number) is not None


def valid_conversation_id(conversation_id: str) -> bool:
    return CONVERSATION_ID.fullmatch(conversation_id) is not None


def valid_attachment_id(attachment_id: str) -> bool:
    return ATTACHMENT_ID.fullmatch(attachment_id) is not None


def conversation_shard(conversation_id: str) -> str:
    # Not the id's first letters: ids may differ only in letter case, which case-insensitive
    # file systems (a developer's Mac) fold. A hash spreads them over 256 shards.
    return hashlib.blake2b(conversation_id.encode(), digest_size=1).hexdigest()


@dataclass(frozen=True)
class Layout:
    """Every kind of record in a folder of its own; the many-file kinds split into shard folders
    of a few hundred files each, so no folder grows to tens of thousands of entries."""

    root: Path

    @property
    def tickets(self) -> Path:
        return self.root / "tickets"

    @property
    def conversations(self) -> Path:
        return self.root / "conversations"

    @property
    def attachments(self) -> Path:
        return self.root / "attachments"

    @property
    def audit(self) -> Path:
        return self.root / "audit"

    @property
    def faq_events(self) -> Path:
        return self.root / "faq_events"

    @property
    def operators(self) -> Path:
        return self.root / "operators.json"

    @property
    def operators_lock(self) -> Path:
        return self.root / "operators.lock"

    def top_folders(self) -> list[Path]:
        return [self.tickets, self.conversations, self.attachments, self.audit, self.faq_events]

    def ticket(self, number: str) -> Path:
        # Numbers are random, so their first two digits spread tickets evenly over 100 shards.
        return self.tickets / number[:2] / f"{number}.json"

    def conversation(self, conversation_id: str) -> Path:
        return self.conversations / conversation_shard(conversation_id) / f"{conversation_id}.json"

    def attachment(self, attachment_id: str) -> Path:
        return self.attachments / attachment_id[:2] / attachment_id

    def folders_with_temp_files(self) -> list[Path]:
        """Every folder a write may leave a temporary file in after a crash."""
        # Not the root: operators.json is written by other processes too (see operators.py).
        folders = self.top_folders()
        for sharded in (self.tickets, self.conversations, self.attachments):
            folders += subfolders(sharded)
        return folders
