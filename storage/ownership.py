"""The data folder belongs to the user the service runs as.

A file the service cannot read reads, to the scan, like a damaged one, and a damaged file's
advice is to restore a backup: over a folder whose only fault is that `root` copied or edited
some of it, that loses everything written since the backup. A folder the service can read but
whose subfolders are someone else's starts, and then fails the first ticket written there. So
the start compares owners first, and says what is wrong: who owns what, and the one command
that gives the folder back."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

from .errors import StorageError

LISTED = 5
# A data folder that is a file system of its own has the file system's folder, root's, which
# the service never enters.
NOT_OURS = {"lost+found"}


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def require_own_folder(root: Path) -> None:
    """StorageError naming the entries of `root` that another user owns, unless we are root
    (who reads and writes everything, and whose files only another user would trip on)."""
    uid = os.geteuid()
    if uid == 0:
        return
    foreign: list[tuple[str, int]] = []
    count = 0
    for folder, dirs, files in os.walk(root):
        if folder == str(root):
            dirs[:] = [d for d in dirs if d not in NOT_OURS]
        for name in (*dirs, *files):
            try:
                owner = os.lstat(os.path.join(folder, name)).st_uid
            except FileNotFoundError:
                continue  # a temporary file renamed meanwhile
            if owner != uid:
                count += 1
                if len(foreign) < LISTED:
                    foreign.append((os.path.join(folder, name), owner))
    if not count:
        return
    user = user_name(uid)
    lines = [f"  {path} (owner {user_name(owner)})" for path, owner in foreign]
    if count > LISTED:
        lines.append(f"  ... and {count - LISTED} more")
    entries = "1 entry" if count == 1 else f"{count} entries"
    belong = "belongs" if count == 1 else "belong"
    raise StorageError(
        f"{entries} of the data folder {root} {belong} to another user than {user}, "
        "who runs the service, so it could not read or write them:\n" + "\n".join(lines)
        + f"\nNothing is damaged: give the folder back with  chown -R {user}: {root}"
    )
