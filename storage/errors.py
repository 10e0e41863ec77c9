"""What can go wrong in storage, readable at a glance. The web layer turns these into pages."""

from __future__ import annotations

import errno
from collections.abc import Sequence
from pathlib import Path

# Beyond this many paths the message would drown the first one, which is usually the cause.
_LISTED = 20
# A write the file system refused: full, over a quota or a file size limit, or read-only.
_DISK_REFUSALS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})


def refused_by_disk(exc: BaseException) -> bool:
    """The disk, not the code: worth one line to the admin, not a traceback, and nothing of
    what the write carried was kept (the caller may try the same again once there is room)."""
    return isinstance(exc, OSError) and exc.errno in _DISK_REFUSALS


class StorageError(Exception):
    """Base of every storage failure."""


class ConversationChanged(StorageError):
    """Another process saved this chat after the copy being saved was read (a second tab of the
    student's, sent to another process): the save changed nothing, and the step that made it
    is taken again on the stored chat."""

    def __init__(self, conversation_id: str) -> None:
        self.conversation_id = conversation_id
        super().__init__(f"conversation {conversation_id} was saved by another process")


class DataFolderBusy(StorageError):
    """Another process owns the data folder: two writers would lose each other's changes."""

    def __init__(self, data_dir: Path, owner: str | None = None) -> None:
        self.data_dir = data_dir
        self.owner = owner
        held = f" (held by process {owner})" if owner else ""
        super().__init__(
            f"The data folder {data_dir} is already in use by another helpdesk process{held}. "
            "Stop that process first, or point HELPDESK_DATA_DIR at another folder."
        )


class DamagedFile(StorageError):
    """A file that cannot be read as what it should be. The server refuses to start over it:
    starting empty or rewriting it would destroy what may still be recovered by hand."""

    def __init__(self, path: Path, reason: str, more: Sequence[tuple[Path, str]] = ()) -> None:
        self.path = path
        self.reason = reason
        self.problems: list[tuple[Path, str]] = [(path, reason), *more]
        lines = [f"  {p}: {r}" for p, r in self.problems[:_LISTED]]
        if len(self.problems) > _LISTED:
            lines.append(f"  ... and {len(self.problems) - _LISTED} more")
        super().__init__(
            f"Damaged data file {path}: {reason}\n"
            f"{len(self.problems)} damaged file(s) in all; nothing was changed. "
            "Restore them from a backup or repair them by hand, then start again:\n"
            + "\n".join(lines)
        )

    @classmethod
    def of(cls, problems: Sequence[tuple[Path, str]]) -> DamagedFile:
        first, *more = problems
        return cls(first[0], first[1], more)


class TicketNotFound(StorageError):
    def __init__(self, number: str) -> None:
        self.number = number
        super().__init__(f"no ticket {number}")


class DatabaseUnavailable(StorageError):
    """The database cannot be reached right now (down, restarting, the network). Nothing was
    acknowledged; the request can be tried again once it is back."""
