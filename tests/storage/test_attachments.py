from __future__ import annotations

import pytest

from storage import Backend, Storage

from .conftest import Place


async def test_a_committed_upload_is_kept_under_a_random_id(
    storage: Backend, place: Place
) -> None:
    content = b"%PDF-1.7\n" + b"a" * 600 + b"b" * 100
    async with storage.attachments.receive() as upload:
        await upload.write(content[:609])
        await upload.write(content[609:])
        assert upload.size == 709
        assert upload.head == content[:512]
        attachment_id = await upload.commit()
    assert len(attachment_id) == 32 and int(attachment_id, 16) >= 0
    assert await storage.attachments.read(attachment_id) == content
    assert await place.attachment_ids() == {attachment_id}
    await storage.attachments.delete(attachment_id)
    assert await storage.attachments.read(attachment_id) is None
    assert await place.attachment_ids() == set()


async def test_an_upload_left_without_commit_leaves_nothing(
    storage: Backend, place: Place
) -> None:
    async with storage.attachments.receive() as upload:
        await upload.write(b"x" * 3_000_000)
        # the caller sees the size over the cap and walks away
    assert await place.attachment_ids() == set()


async def test_an_upload_interrupted_by_an_error_leaves_nothing(
    storage: Backend, place: Place
) -> None:
    with pytest.raises(RuntimeError):
        async with storage.attachments.receive() as upload:
            await upload.write(b"MZ not a pdf")
            raise RuntimeError("refused type")
    assert await place.attachment_ids() == set()


async def test_unexpected_ids_find_nothing_and_delete_nothing(
    storage: Backend, place: Place
) -> None:
    async with storage.attachments.receive() as upload:
        await upload.write(b"%PDF-1.7 kept")
        kept = await upload.commit()
    for bad in ("../../operators.json", "..", "", "A" * 32, "0" * 31, "0" * 32 + "/x", "/etc/x"):
        assert await storage.attachments.read(bad) is None
        await storage.attachments.delete(bad)  # a no-op, not an error, and nothing deleted
    assert await storage.attachments.read("0" * 32) is None  # well-formed but unknown
    assert await place.attachment_ids() == {kept}


async def test_files_sit_in_shards_and_paths_come_only_from_valid_ids(folder: Storage) -> None:
    async with folder.attachments.receive() as upload:
        await upload.write(b"%PDF-1.7")
        attachment_id = await upload.commit()
    path = folder.attachments.path(attachment_id)
    assert path == folder.layout.attachments / attachment_id[:2] / attachment_id
    for bad in ("../../operators.json", "..", "A" * 32, "/etc/x"):
        assert folder.attachments.path(bad) is None
    assert folder.layout.operators.parent.exists()
