from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from storage import Backend, DamagedFile, Operator, OperatorStore, Storage

from .conftest import ROOT, run_python


def operator(username: str, **fields: object) -> Operator:
    values: dict[str, object] = {"name": username.title(), "role": "operator", "password_hash": "h"}
    values.update(fields)
    return Operator(username=username, **values)  # type: ignore[arg-type]


async def test_put_get_list_and_replace(storage: Backend) -> None:
    await storage.operators.put(operator("lbianchi"))
    await storage.operators.put(operator("aneri", role="admin"))
    await storage.operators.put(operator("lbianchi", name="Laura B.", active=False))
    got = await storage.operators.get("lbianchi")
    assert got is not None and got.name == "Laura B." and not got.active
    assert [o.username for o in await storage.operators.list()] == ["aneri", "lbianchi"]
    assert await storage.operators.get("nobody") is None


async def test_add_creates_an_account_only_under_a_free_username(storage: Backend) -> None:
    tries = [operator("demo", name=f"Demo {i}") for i in range(6)]
    added = await asyncio.gather(*(storage.operators.add(o) for o in tries))
    assert sorted(added) == [False] * 5 + [True]
    kept = await storage.operators.get("demo")
    assert kept is not None and kept.name == tries[added.index(True)].name
    assert [o.username for o in await storage.operators.list()] == ["demo"]


def test_works_without_a_storage_and_without_a_folder(tmp_path: Path) -> None:
    store = OperatorStore(tmp_path / "fresh")
    assert store.get_sync("x") is None
    store.put_sync(operator("x"))
    assert OperatorStore(tmp_path / "fresh").get_sync("x") == store.get_sync("x")


async def test_an_account_added_by_another_process_logs_in_at_once(folder: Storage) -> None:
    storage = folder
    assert await storage.operators.get("nuovo") is None  # cached as absent
    child = run_python(
        "import sys\n"
        "from pathlib import Path\n"
        "from storage import Operator, OperatorStore\n"
        "OperatorStore(Path(sys.argv[1])).put_sync(\n"
        "    Operator(username='nuovo', name='Nuovo', role='editor', password_hash='h'))\n",
        str(storage.layout.root),
    )
    assert child.returncode == 0, child.stderr
    got = await storage.operators.get("nuovo")
    assert got is not None and got.role == "editor"


def test_writers_in_many_processes_lose_nobody(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from storage import Operator, OperatorStore\n"
        "store = OperatorStore(Path(sys.argv[1]))\n"
        "for i in range(15):\n"
        "    store.put_sync(Operator(username=f'{sys.argv[2]}{i}', name='x', role='operator',"
        " password_hash='h'))\n"
    )
    children = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path), f"p{n}_"],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        for n in range(4)
    ]
    assert all(child.wait(timeout=30) == 0 for child in children)
    assert len(OperatorStore(tmp_path).list_sync()) == 60


def test_a_damaged_file_is_reported_not_overwritten(tmp_path: Path) -> None:
    store = OperatorStore(tmp_path)
    store.put_sync(operator("x"))
    damaged = store.path.read_bytes()[:-5]
    store.path.write_bytes(damaged)
    with pytest.raises(DamagedFile) as refused:
        store.get_sync("x")
    assert refused.value.path == store.path
    with pytest.raises(DamagedFile):
        store.put_sync(operator("y"))
    assert store.path.read_bytes() == damaged
