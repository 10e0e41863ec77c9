from __future__ import annotations

import asyncio
import errno
import secrets
from pathlib import Path

import pytest

from storage import Backend, Conversation, Storage

from .conftest import Place


async def test_a_conversation_reads_back_after_a_restart(place: Place) -> None:
    storage = await place.open()
    conversation = Conversation(
        id=secrets.token_urlsafe(16),
        step="describe",
        slots={"topic": "immatricolazioni", "subtopic": "scadenze"},
        transcript=[{"from": "bot", "key": "ask_question"}],
    )
    before = conversation.updated_at
    await asyncio.sleep(0.002)
    await storage.conversations.save(conversation)
    assert conversation.updated_at > before
    assert await storage.conversations.get(conversation.id) == conversation
    await storage.close()
    again = await place.open()
    try:
        assert await again.conversations.get(conversation.id) == conversation
    finally:
        await again.close()


async def test_unknown_and_malformed_ids(storage: Backend) -> None:
    assert await storage.conversations.get(secrets.token_urlsafe(16)) is None
    for bad in ("../../../etc/passwd", "short", "a" * 65, "x" * 20 + "/", ""):
        assert await storage.conversations.get(bad) is None
        with pytest.raises(ValueError):
            await storage.conversations.save(Conversation(id=bad, step="start"))


async def test_a_resume_reads_the_chat_as_get_does(storage: Backend) -> None:
    conversation = Conversation(id=secrets.token_urlsafe(16), step="describe")
    await storage.conversations.save(conversation)
    assert await storage.conversations.resume(conversation.id) == conversation
    for unknown in (secrets.token_urlsafe(16), "../../../etc/passwd", ""):
        assert await storage.conversations.resume(unknown) is None


async def test_concurrent_saves_of_one_conversation_land_in_order(storage: Backend) -> None:
    conversation = Conversation(id=secrets.token_urlsafe(16), step="s0")
    steps = iter(range(1, 31))

    async def save() -> None:
        conversation.step = f"s{next(steps)}"
        await storage.conversations.save(conversation)

    await asyncio.gather(*(save() for _ in range(30)))
    stored = await storage.conversations.get(conversation.id)
    assert stored is not None and stored.step == "s30"


async def test_a_step_reads_no_file_and_what_it_gets_is_its_own(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storage import conversations

    reads: list[str] = []
    read = conversations.read_conversation

    def counting(path: str | Path, conversation_id: str) -> Conversation | None:
        reads.append(conversation_id)
        return read(path, conversation_id)

    monkeypatch.setattr(conversations, "read_conversation", counting)
    async with await Storage.open(data_dir) as storage:
        chat = Conversation(id=secrets.token_urlsafe(16), step="describe", slots={"topic": "t"})
        chat.transcript.append({"from": "bot", "text": "Ciao"})
        await storage.conversations.save(chat)
        got = await storage.conversations.get(chat.id)
        assert got == chat and reads == []
        # Changed but not saved: the next reader still gets what was written.
        assert got is not None
        got.slots["topic"] = "altro"
        got.transcript.append({"from": "student", "text": "mai salvato"})
        got.uploads.append({"id": "x"})
        assert await storage.conversations.get(chat.id) == chat
    # A restarted process has nothing in memory: the file says the same.
    async with await Storage.open(data_dir) as storage:
        reads.clear()  # the start verifies every file
        assert await storage.conversations.get(chat.id) == chat
        assert reads == [chat.id]


async def test_steps_are_written_behind_together_and_a_failed_write_waits_for_the_disk(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storage import concurrency, conversations

    monkeypatch.setattr(concurrency, "RETRY_SECONDS", 0.05)
    batches: list[int] = []
    disk_full = False
    write_files, write_temp = conversations._write_files, conversations.write_temp

    def counting(files: list[tuple[Path, bytes]]) -> None:
        batches.append(len(files))
        write_files(files)

    def disk(path: Path, data: bytes) -> Path:
        if disk_full:
            raise OSError(errno.ENOSPC, "No space left on device")
        return write_temp(path, data)

    monkeypatch.setattr(conversations, "_write_files", counting)
    monkeypatch.setattr(conversations, "write_temp", disk)
    storage = await Storage.open(data_dir)
    chats = [Conversation(id=secrets.token_urlsafe(16), step="s1") for _ in range(20)]
    for step in ("s1", "s2"):
        for chat in chats:
            chat.step = step
            await storage.conversations.save(chat)
    # Forty steps answered, none waited for the disk; each chat is written once, together.
    assert batches == []
    await storage.conversations.flush()
    assert batches == [20]

    disk_full = True
    chats[0].step = "s3"
    with pytest.raises(OSError):
        await storage.conversations.save(chats[0], durable=True)
    # Kept, and tried again until the disk has room.
    stored = await storage.conversations.get(chats[0].id)
    assert stored is not None and stored.step == "s3"
    await asyncio.sleep(0.3)
    disk_full = False
    await storage.close()
    async with await Storage.open(data_dir) as reopened:
        for chat in chats:
            stored = await reopened.conversations.get(chat.id)
            assert stored is not None and stored.step == ("s3" if chat is chats[0] else "s2")


async def test_a_deleted_chat_is_not_written_back_by_a_late_flush(data_dir: Path) -> None:
    async with await Storage.open(data_dir) as storage:
        chat = Conversation(id=secrets.token_urlsafe(16), step="s1")
        await storage.conversations.save(chat)
        await storage.conversations.delete(chat.id)
        await storage.conversations.flush()
        assert await storage.conversations.get(chat.id) is None
    async with await Storage.open(data_dir) as storage:
        assert await storage.conversations.get(chat.id) is None
