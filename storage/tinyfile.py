"""TinyDB over many small files: each record is a TinyDB database of its own, written through a
storage that replaces the file atomically.

TinyDB rewrites its whole file on every write, so the cost of a write is the size of the file:
one record per file keeps that cost flat however many records exist. The files stay ordinary
TinyDB databases (`TinyDB(path).table("ticket").get(doc_id=1)` reads one by hand).
"""

from __future__ import annotations

import errno
import json
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.storages import Storage as TinyStorage
from tinydb.table import Document

from .errors import DamagedFile
from .files import atomic_write

Tables = dict[str, dict[str, Any]]
DOC_ID = 1


def encode(data: object) -> bytes:
    # Compact and UTF-8 as written: Italian names keep their accents and files stay small.
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def decode_tables(raw: bytes, path: str | Path) -> Tables:
    """The content of a TinyDB file, or DamagedFile saying precisely what is wrong with it.
    An empty file is damage too: our writer never leaves one, so it did not come from us."""
    if not raw.strip():
        raise DamagedFile(Path(path), "empty file")
    try:
        data = json.loads(raw)
    except UnicodeDecodeError:
        raise DamagedFile(Path(path), "not UTF-8 text") from None
    except json.JSONDecodeError as e:
        where = f"line {e.lineno} column {e.colno}"
        raise DamagedFile(Path(path), f"not valid JSON ({e.msg}, {where})") from None
    if not isinstance(data, dict) or not all(
        isinstance(table, dict) and all(isinstance(doc, dict) for doc in table.values())
        for table in data.values()
    ):
        raise DamagedFile(Path(path), "not a TinyDB database (expected {table: {id: document}})")
    return data


def read_record(path: str | Path, table: str) -> dict[str, Any] | None:
    """Document 1 of a table, as TinyDB would return it; None when the file does not exist.

    Reads without building a TinyDB instance: the start reads tens of thousands of files, and
    TinyDB's own read is this same json.loads plus a dictionary look-up."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return None
    doc: dict[str, Any] | None = decode_tables(raw, path).get(table, {}).get(str(DOC_ID))
    if doc is None:
        raise DamagedFile(Path(path), f"no {table} record in the file")
    return doc


class AtomicJSONStorage(TinyStorage):
    """A TinyDB storage that never leaves a half-written file and never reads damage as empty.

    Unlike TinyDB's JSONStorage it keeps no file open and does not create the file on open:
    opening a database to read must not leave an empty file behind.
    """

    def __init__(self, path: str | Path, exclusive: bool = False) -> None:
        self.path = Path(path)
        self.exclusive = exclusive

    def read(self) -> Tables | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        return decode_tables(raw, self.path)

    def write(self, data: Tables) -> None:
        atomic_write(self.path, encode(data), exclusive=self.exclusive)



class RecordFile:
    """One record alone in a TinyDB file, as document 1 of a named table."""

    def __init__(self, path: Path, table: str) -> None:
        self.path = path
        self.table = table

    def _db(self, *, exclusive: bool = False) -> TinyDB:
        return TinyDB(self.path, storage=AtomicJSONStorage, exclusive=exclusive)

    def load(self) -> dict[str, Any] | None:
        """The record, None when the file does not exist; DamagedFile when it cannot be read."""
        return read_record(self.path, self.table)

    def create(self, record: dict[str, Any]) -> None:
        """Write a new file; FileExistsError if one is already there (never replaced)."""
        with self._db(exclusive=True) as db:
            try:
                db.table(self.table).insert(Document(record, doc_id=DOC_ID))
            except UnicodeError:  # a ValueError too, but about the record, not the file
                raise
            except ValueError:  # TinyDB's "already exists", seen when it read the file first
                raise FileExistsError(errno.EEXIST, "record file exists", str(self.path)) from None

    def replace(self, record: dict[str, Any]) -> None:
        """Replace the record of an existing file (whole, not merged: a dropped field goes)."""

        def swap(doc: MutableMapping[str, Any]) -> None:
            doc.clear()
            doc.update(record)

        with self._db() as db:
            if not db.table(self.table).update(swap, doc_ids=[DOC_ID]):
                raise DamagedFile(self.path, f"no {self.table} record to replace")

    def save(self, record: dict[str, Any]) -> None:
        """Create or replace. Callers serialise writes to one file, so the check cannot race."""
        if self.path.exists():
            self.replace(record)
        else:
            self.create(record)
