"""The data folder's own key (`secret_key`, web/desk/secret.py) as IT may find it after a hand
edit or a careless copy: an emptied one would sign ticket links anyone can compute."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.web.test_cli import make_folder, run_web


def test_an_emptied_key_is_refused_at_the_start_and_named_by_check_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    asyncio.run(make_folder(data_dir))
    key = data_dir / "secret_key"
    key.write_text("\n")

    serve = run_web(data_dir=data_dir)
    assert serve.returncode == 2
    assert f"{key}: the key that signs the students' links holds 0 characters" in serve.stderr
    assert "Student page" not in serve.stdout
    assert key.read_text() == "\n"  # nothing drawn over it: the backup's key may still come back

    check = run_web("check-data", data_dir=data_dir)
    assert check.returncode == 1
    assert check.stdout.splitlines()[0].startswith(f"{key}: the key that signs")


def test_a_drawn_key_passes_check_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    asyncio.run(make_folder(data_dir))
    (data_dir / "secret_key").write_text("ab" * 32)
    check = run_web("check-data", data_dir=data_dir)
    assert check.returncode == 0, check.stdout
