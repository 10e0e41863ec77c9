from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from storage import DamagedFile, DataFolderBusy, Storage, StorageError

from .conftest import ROOT, build, run_python


async def test_a_second_owner_in_the_same_process_is_refused(folder: Storage) -> None:
    storage = folder
    with pytest.raises(DataFolderBusy) as refused:
        await Storage.open(storage.layout.root)
    message = str(refused.value)
    assert str(storage.layout.root) in message
    assert str(os.getpid()) in message and "HELPDESK_DATA_DIR" in message


async def test_a_second_process_is_refused_with_a_clear_message(folder: Storage) -> None:
    storage = folder
    child = run_python(
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from storage import Storage, DataFolderBusy\n"
        "try:\n"
        "    asyncio.run(Storage.open(Path(sys.argv[1])))\n"
        "except DataFolderBusy as e:\n"
        "    print(e)\n"
        "    sys.exit(3)\n",
        str(storage.layout.root),
    )
    assert child.returncode == 3, child.stderr
    assert f"{storage.layout.root} is already in use" in child.stdout


async def test_the_folder_is_free_again_after_close(data_dir: Path) -> None:
    storage = await Storage.open(data_dir)
    await storage.close()
    await storage.close()  # idempotent
    async with await Storage.open(data_dir):
        pass


async def test_a_closed_storage_refuses_writes(data_dir: Path) -> None:
    storage = await Storage.open(data_dir)
    await storage.close()
    with pytest.raises(StorageError):
        await storage.tickets.create(build())


async def test_temporary_files_left_by_a_crash_are_swept(data_dir: Path) -> None:
    async with await Storage.open(data_dir) as storage:
        ticket = await storage.tickets.create(build())
    shard = data_dir / "tickets" / ticket.number[:2]
    leftovers = [
        shard / f".tmp-{ticket.number}.json.deadbeef",
        data_dir / "attachments" / ".tmp-upload.0badf00d",
        data_dir / ".tmp-operators.json.12345678",
    ]
    for path in leftovers:
        path.write_bytes(b'{"half": ')
    # Not ours: another component's temporary file in the root stays.
    foreign = data_dir / ".tmp-secret.key.12345678"
    foreign.write_bytes(b"x")
    async with await Storage.open(data_dir) as storage:
        assert not any(path.exists() for path in leftovers)
        assert foreign.exists()
        assert await storage.tickets.get(ticket.number) == ticket


async def test_a_damaged_ticket_is_reported_with_its_path_and_left_alone(data_dir: Path) -> None:
    async with await Storage.open(data_dir) as storage:
        good = await storage.tickets.create(build())
        bad = await storage.tickets.create(build())
    path = data_dir / "tickets" / bad.number[:2] / f"{bad.number}.json"
    damaged = path.read_bytes()[:-40]
    path.write_bytes(damaged)
    with pytest.raises(DamagedFile) as refused:
        await Storage.open(data_dir)
    assert refused.value.path == path
    assert str(path) in str(refused.value) and "not valid JSON" in refused.value.reason
    assert path.read_bytes() == damaged  # not "repaired", not emptied
    # The refusal released the folder, and nothing started empty in the meantime.
    with pytest.raises(DamagedFile):
        await Storage.open(data_dir)
    path.unlink()
    async with await Storage.open(data_dir) as storage:
        assert [s.number for s in await storage.tickets.summaries()] == [good.number]


async def test_every_damaged_file_is_listed_at_once(data_dir: Path) -> None:
    async with await Storage.open(data_dir):
        pass
    broken = [
        data_dir / "tickets" / "12" / "123456.json",
        data_dir / "tickets" / "65" / "654321.json",
        data_dir / "operators.json",
    ]
    for path in broken:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"")
    with pytest.raises(DamagedFile) as refused:
        await Storage.open(data_dir)
    assert {p for p, _ in refused.value.problems} == set(broken)
    for path in broken:
        assert str(path) in str(refused.value)


async def test_a_record_with_the_wrong_shape_is_damage(data_dir: Path) -> None:
    async with await Storage.open(data_dir) as storage:
        ticket = await storage.tickets.create(build())
    path = data_dir / "tickets" / ticket.number[:2] / f"{ticket.number}.json"
    path.write_text(json.dumps({"ticket": {"1": {"number": ticket.number, "colour": "blue"}}}))
    with pytest.raises(DamagedFile) as refused:
        await Storage.open(data_dir)
    assert refused.value.path == path and "not a valid ticket" in refused.value.reason


async def test_a_folder_that_cannot_be_created_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StorageError) as refused:
        await Storage.open(blocker / "data")
    assert str(blocker / "data") in str(refused.value)


def give_to_root_but_a_ticket(data_dir: Path, uid: int) -> tuple[Path, Path]:
    """The folder to `uid`, but for its one ticket and that ticket's shard: (ticket, shard)."""
    for path in [data_dir, *data_dir.rglob("*")]:
        os.lchown(path, uid, uid)
    shard = next((data_dir / "tickets").iterdir())
    [ticket] = shard.iterdir()
    os.lchown(ticket, 0, 0)
    os.lchown(shard, 0, 0)
    return ticket, shard


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
async def test_files_another_user_owns_are_named_with_the_command_not_called_damage(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The folder of a service that runs as uid 4242, where root rewrote a ticket and created its
    # shard (say, a restore or a hand repair run as root).
    storage = await Storage.open(data_dir)
    await storage.tickets.create(build())
    await storage.close()
    ticket, shard = give_to_root_but_a_ticket(data_dir, 4242)
    monkeypatch.setattr("storage.ownership.os.geteuid", lambda: 4242)

    with pytest.raises(StorageError) as refused:
        await Storage.open(data_dir)
    message = str(refused.value)
    assert not isinstance(refused.value, DamagedFile)  # whose advice is to restore a backup
    assert f"2 entries of the data folder {data_dir} belong to another user than 4242" in message
    assert f"  {ticket} (owner root)" in message
    assert f"  {shard} (owner root)" in message
    assert message.endswith(f"chown -R 4242: {data_dir}")


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="only root can start a process as another user",
)
def test_a_new_file_system_whose_lost_and_found_the_service_cannot_enter_starts() -> None:
    """A data folder that is a file system of its own, first start: its lost+found is root's,
    mode 700, and the look for a backup copied one level down must not stumble on it."""
    nobody = 65534
    mount = Path(tempfile.mkdtemp(prefix="helpdesk-volume-"))  # tmp_path: nobody cannot enter
    try:
        mount.chmod(0o755)
        (mount / "lost+found").mkdir(mode=0o700)
        os.chown(mount, nobody, nobody)
        started = subprocess.run(
            # setpriv rather than subprocess's user=: it keeps the interpreter reachable here
            ["setpriv", f"--reuid={nobody}", f"--regid={nobody}", "--clear-groups",
             sys.executable, "-c",
             "import asyncio, sys\n"
             "from pathlib import Path\n"
             "from storage import Storage\n"
             "async def main():\n"
             "    await (await Storage.open(Path(sys.argv[1]))).close()\n"
             "asyncio.run(main())\n",
             str(mount)],
            capture_output=True, text=True, timeout=30, cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert started.returncode == 0, started.stderr
        assert (mount / "tickets").is_dir()
    finally:
        shutil.rmtree(mount)
