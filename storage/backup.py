"""`python -m web backup DEST`: a copy of a data folder that a server starts on, taken beside the
server that writes it.

`cp -a` or `tar` of a live folder copy each file whole (every record file is replaced
atomically), but each at its own moment and in whatever order the file system lists them: a
ticket written after the attachments folder was copied points at a file the copy lacks, and
both tools report the temporary files that vanish under them as errors. Here the kinds are
copied in the order that makes every pointer the server checks find its file: chats, then
tickets, then attachments. A record points only at what was written before it (a ticket at
its files, a chat at its uploads and, once it opened one, at its ticket), so copying the
pointing kind first means whatever it points at exists when its own kind is copied. Only a
ticket's pointer to its chat can miss (a chat begun during the copy): the ticket is whole, and
its chat is missing as after the retention sweep. A file deleted during the copy (the sweep,
an erasure) can still leave a pointer without its file, and the verification says so.

What is not copied: the folder lock, the temporary files of writes in flight, and the torn last
line of a journal (an append in flight, never acknowledged). The copy keeps each file's time,
which the retention reads for uploads, and holds `secret_key`, so the students' links work on
a server restored from it: keep it as private as the folder (it is created 0700)."""

from __future__ import annotations

import os
from pathlib import Path

from .check import verify_folder
from .errors import StorageError
from .files import DIR_MODE, FILE_MODE, is_temp, write_all
from .folderlock import LOCK_NAME
from .layout import Layout

# The order that keeps pointers whole (see above); everything else follows, by name.
FIRST = ("conversations", "tickets", "attachments")
JOURNALS = ("audit", "faq_events")
NOT_COPIED = {LOCK_NAME, Layout(Path()).operators_lock.name}


def backup_folder(source: Path, dest: Path) -> list[str]:
    """Copy the data folder `source` to `dest` (absent, or an empty folder) and verify the
    copy as a starting server would: the problems found in it, one line each ("path: what is
    wrong"); [] when a server will start on it with everything it points at."""
    source, dest = Path(source), Path(dest)
    if not (source / "tickets").is_dir():
        raise StorageError(f"{source} is not a data folder (it has no tickets folder)")
    if dest.resolve().is_relative_to(source.resolve()):
        # It would copy itself into itself, level after level, inside the live folder.
        raise StorageError(f"{dest} is inside the data folder {source}: choose a folder outside it")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise StorageError(f"{dest} exists and is not an empty folder: choose a new one")
    dest.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    names = sorted(e.name for e in os.scandir(source) if _copied(e.name))
    for name in [n for n in FIRST if n in names] + [n for n in names if n not in FIRST]:
        _copy(source / name, dest / name, journal=name in JOURNALS)
    os.sync()  # the copy is a backup only once it is on disk; one call for all its files
    problems, missing = verify_folder(dest)
    return [f"{path}: {reason}" for path, reason in problems + missing]


def _copied(name: str) -> bool:
    return name not in NOT_COPIED and not is_temp(name)


def _copy(source: Path, dest: Path, *, journal: bool) -> None:
    if source.is_dir():
        dest.mkdir(mode=DIR_MODE)
        for entry in sorted(os.scandir(source), key=lambda e: e.name):
            if _copied(entry.name) and not entry.is_symlink():
                _copy(Path(entry.path), dest / entry.name, journal=journal)
    elif source.is_file():
        _copy_file(source, dest, journal=journal)


def _copy_file(source: Path, dest: Path, *, journal: bool) -> None:
    try:
        fd = os.open(source, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return  # deleted since the folder was listed: replaced files are never deleted
    try:
        # One descriptor: the version opened is read whole even if it is replaced meanwhile.
        stat = os.fstat(fd)
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read()
    finally:
        os.close(fd)
    if journal:
        data = data[: data.rfind(b"\n") + 1]
    out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    try:
        write_all(out, data)
    finally:
        os.close(out)
    os.utime(dest, ns=(stat.st_atime_ns, stat.st_mtime_ns))

