from __future__ import annotations

import asyncio
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


async def test_concurrent_saves_of_one_conversation_land_in_order(storage: Backend) -> None:
    conversation_id = secrets.token_urlsafe(16)
    await asyncio.gather(
        *(
            storage.conversations.save(Conversation(id=conversation_id, step=f"s{i}"))
            for i in range(30)
        )
    )
    stored = await storage.conversations.get(conversation_id)
    assert stored is not None and stored.step == "s29"


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
