from __future__ import annotations

from pathlib import Path

from storage import Attachment, Message, Storage, check_data

from .conftest import build


def with_attachment(attachment_id: str) -> Message:
    attachment = Attachment(attachment_id, filename="a.pdf", size=8, content_type="application/pdf")
    return Message(id="m", author="student", name="M", body="b", attachments=[attachment])


async def test_a_healthy_folder_has_no_problems_even_while_open(folder: Storage) -> None:
    storage = folder
    async with storage.attachments.receive() as upload:
        await upload.write(b"%PDF-1.4")
        attachment_id = await upload.commit()
    await storage.tickets.create(build(messages=[with_attachment(attachment_id)]))
    async with storage.attachments.receive() as upload:
        await upload.write(b"in flight")  # a temporary file is not a problem
        assert check_data(storage.layout.root) == []


def test_a_missing_folder_is_a_problem(tmp_path: Path) -> None:
    assert check_data(tmp_path / "nope") == [f"{tmp_path / 'nope'}: no such folder"]


async def test_every_problem_is_listed_with_its_path(data_dir: Path) -> None:
    async with await Storage.open(data_dir) as storage:
        with_lost_file = await storage.tickets.create(build(messages=[with_attachment("a" * 32)]))
        damaged = await storage.tickets.create(build())
    damaged_path = storage.layout.ticket(damaged.number)
    damaged_path.write_bytes(b'{"ticket": {"1": {"number": "')
    stray = data_dir / "tickets" / "notes.txt"
    stray.write_text("hello")
    (data_dir / "operators.json").write_text("[]")
    (data_dir / "faq_events" / "2026-01-01.jsonl").write_text('{"kind": "solved"}\n')

    problems = check_data(data_dir)

    def about(path: Path) -> list[str]:
        return [p for p in problems if p.startswith(f"{path}: ")]

    assert "not valid JSON" in about(damaged_path)[0]
    assert about(stray) == [f"{stray}: unexpected entry in the tickets folder"]
    assert "not a TinyDB database" in about(data_dir / "operators.json")[0]
    assert "line 1" in about(data_dir / "faq_events" / "2026-01-01.jsonl")[0]
    assert "whose file is missing" in about(storage.layout.ticket(with_lost_file.number))[0]
    assert len(problems) == 5
    # and the check changed nothing
    assert damaged_path.read_bytes() == b'{"ticket": {"1": {"number": "'
