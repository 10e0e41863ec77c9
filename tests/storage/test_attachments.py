from __future__ import annotations

import pytest

from storage import Storage


def files_under(storage: Storage) -> list[str]:
    root = storage.layout.attachments
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


async def test_a_committed_upload_is_kept_under_a_random_name(storage: Storage) -> None:
    async with storage.attachments.receive() as upload:
        await upload.write(b"%PDF-1.7\n" + b"a" * 600)
        await upload.write(b"b" * 100)
        assert upload.size == 709
        assert upload.head == (b"%PDF-1.7\n" + b"a" * 600)[:512]
        attachment_id = await upload.commit()
    path = storage.attachments.path(attachment_id)
    assert path is not None and path.read_bytes().startswith(b"%PDF-1.7")
    assert len(attachment_id) == 32 and path.name == attachment_id
    assert files_under(storage) == [f"{attachment_id[:2]}/{attachment_id}"]
    await storage.attachments.delete(attachment_id)
    assert storage.attachments.path(attachment_id) is None
    assert files_under(storage) == []


async def test_an_upload_left_without_commit_leaves_nothing(storage: Storage) -> None:
    async with storage.attachments.receive() as upload:
        await upload.write(b"x" * 3_000_000)
        # the caller sees the size over the cap and walks away
    assert files_under(storage) == []


async def test_an_upload_interrupted_by_an_error_leaves_nothing(storage: Storage) -> None:
    with pytest.raises(RuntimeError):
        async with storage.attachments.receive() as upload:
            await upload.write(b"MZ not a pdf")
            raise RuntimeError("refused type")
    assert files_under(storage) == []


async def test_paths_are_never_built_from_unexpected_ids(storage: Storage) -> None:
    for bad in ("../../operators.json", "..", "", "A" * 32, "0" * 31, "0" * 32 + "/x", "/etc/x"):
        assert storage.attachments.path(bad) is None
        await storage.attachments.delete(bad)  # a no-op, not an error, and nothing deleted
    assert storage.layout.operators.parent.exists()
    assert storage.attachments.path("0" * 32) is None  # well-formed but unknown
