from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from unittest.mock import ANY

import pytest

from storage import AuditEntry, DamagedFile, FaqEvent, Storage, StorageError
from storage.journal import AuditLog

from .conftest import Place


async def test_audit_entries_read_back_newest_first_and_by_target(place: Place) -> None:
    storage = await place.open()
    for i in range(5):
        entry = AuditEntry(actor="op", action="ticket.status", target=f"{i % 2}", detail={"i": i})
        await storage.audit.append(entry)
    event = FaqEvent(kind="suggested", query="tasse isee", lang="it", faq_ids=["tasse-1"])
    await storage.faq_events.append(event)
    await storage.faq_events.append(FaqEvent(kind="no_match", query="pin spid", lang="en"))
    await storage.close()
    storage = await place.open()
    try:
        recent = await storage.audit.recent()
        assert [e.detail["i"] for e in recent] == [4, 3, 2, 1, 0]
        assert recent[0] == AuditEntry("op", "ticket.status", "0", {"i": 4}, at=recent[0].at)
        assert [e.detail["i"] for e in await storage.audit.recent(target="1")] == [3, 1]
        assert len(await storage.audit.recent(limit=2)) == 2
        assert len(await storage.audit.recent(limit=1, target="0")) == 1
        assert await storage.faq_events.recent() == [
            FaqEvent(kind="no_match", query="pin spid", lang="en", at=ANY),
            FaqEvent(kind="suggested", query="tasse isee", lang="it", faq_ids=["tasse-1"], at=ANY),
        ]
        assert len(await storage.faq_events.recent(1)) == 1
    finally:
        await storage.close()


async def test_faq_events_written_before_the_bands_still_read(data_dir: Path) -> None:
    folder = data_dir / "faq_events"
    folder.mkdir(parents=True)
    old = {"kind": "suggested", "query": "isee", "lang": "it", "faq_ids": ["tasse-001"],
           "conversation_id": "c1", "at": "2026-01-01T10:00:00.000+00:00"}
    (folder / "2026-01-01.jsonl").write_text(json.dumps(old) + "\n")
    async with await Storage.open(data_dir) as storage:
        await storage.faq_events.append(
            FaqEvent(kind="suggested", query="rata", lang="it", faq_ids=["tasse-2"], band="middle")
        )
    async with await Storage.open(data_dir) as storage:
        assert [(e.query, e.band) for e in await storage.faq_events.recent()] == [
            ("rata", "middle"),
            ("isee", None),
        ]


def day_file(data_dir: Path) -> Path:
    return data_dir / "audit" / f"{datetime.now(UTC):%Y-%m-%d}.jsonl"


async def test_a_torn_last_line_is_cut_at_start(data_dir: Path) -> None:
    async with await Storage.open(data_dir) as storage:
        await storage.audit.append(AuditEntry(actor="op", action="a", target="1"))
    path = day_file(data_dir)
    whole = path.read_bytes()
    path.write_bytes(whole + b'{"actor": "op", "act')  # a crash in the middle of an append
    async with await Storage.open(data_dir) as storage:
        assert path.read_bytes() == whole
        await storage.audit.append(AuditEntry(actor="op", action="b", target="2"))
        assert [e.action for e in await storage.audit.recent()] == ["b", "a"]


async def test_a_bad_line_before_the_last_is_damage(data_dir: Path) -> None:
    async with await Storage.open(data_dir) as storage:
        await storage.audit.append(AuditEntry(actor="op", action="a", target="1"))
    path = day_file(data_dir)
    content = b"not json\n" + path.read_bytes()
    path.write_bytes(content)
    with pytest.raises(DamagedFile) as refused:
        await Storage.open(data_dir)
    assert refused.value.path == path and "line 1" in refused.value.reason
    assert path.read_bytes() == content


async def test_a_long_day_is_read_whole_and_damage_located_by_line(data_dir: Path) -> None:
    async with await Storage.open(data_dir) as storage:
        await storage.audit.append(AuditEntry(actor="op", action="first", target="1"))
    path = day_file(data_dir)
    line = path.read_bytes()
    path.write_bytes(line * 4500)
    async with await Storage.open(data_dir) as storage:
        assert len(await storage.audit.recent(limit=100_000)) == 4500
    lines = path.read_bytes().split(b"\n")
    lines[4321] = b'{"actor": "op"}'
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(DamagedFile) as refused:
        await Storage.open(data_dir)
    assert "line 4322 " in refused.value.reason


async def test_a_busy_moment_shares_one_flush_and_close_writes_what_is_queued(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storage import journal

    writes: list[int] = []
    append = journal._append

    def counting(path: Path, line: bytes) -> None:
        writes.append(line.count(b"\n"))
        append(path, line)

    monkeypatch.setattr(journal, "_append", counting)
    storage = await Storage.open(data_dir)
    for i in range(50):
        await storage.faq_events.append(FaqEvent(kind="no_match", query=f"q{i}", lang="it"))
    # Queued, not yet on disk: the chat did not wait for the disk.
    assert writes == []
    await storage.faq_events.flush()
    assert writes == [50]
    await storage.audit.append(AuditEntry(actor="op", action="a", target="last"))
    await storage.close()
    assert writes == [50, 1]
    with pytest.raises(StorageError, match="closed"):
        await storage.audit.append(AuditEntry(actor="op", action="a", target="late"))
    async with await Storage.open(data_dir) as reopened:
        assert len(await reopened.faq_events.recent()) == 50
        assert [e.target for e in await reopened.audit.recent()] == ["last"]


async def test_an_account_s_audit_reads_back_past_the_entries_kept_in_memory(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The console's account history asks for one target's entries: at the enrolment deadline
    the ticket events push who created an account, or changed its role, out of memory in days,
    and the history must still show them (from the day files, yesterday's too)."""
    monkeypatch.setattr(AuditLog, "MEMORY", 10)
    audit = data_dir / "audit"
    audit.mkdir(parents=True)
    added = AuditEntry(actor="admin", action="operator.added", target="anna",
                       detail={"role": "operator"}, at="2026-09-01T08:00:00.000+00:00")
    (audit / "2026-09-01.jsonl").write_text(json.dumps(asdict(added)) + "\n")
    async with await Storage.open(data_dir) as storage:
        await storage.audit.append(
            AuditEntry(actor="admin", action="operator.updated", target="anna",
                       detail={"changes": ["role"], "role": ["operator", "admin"]})
        )
        for i in range(20):
            await storage.audit.append(
                AuditEntry(actor="anna", action="ticket.status", target=f"{i:06}")
            )
        history = await storage.audit.recent(target="anna")
        assert [e.action for e in history] == ["operator.updated", "operator.added"]
        assert history[1] == added
        assert [e.action for e in await storage.audit.recent(limit=1, target="anna")] == [
            "operator.updated"
        ]
        assert await storage.audit.recent(target="nobody") == []
