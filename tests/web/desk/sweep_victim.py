"""The victim of test_retention_crash.py: opens the data folder and runs one retention sweep at
the moment given, printing "ready" first and the report at the end. Killed at random moments."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime
from pathlib import Path

from storage import Storage
from tests.web.desk.retention_fixtures import retention


async def main(data_dir: Path, now: datetime) -> None:
    storage = await Storage.open(data_dir)
    print("ready", flush=True)
    report = await retention(storage).sweep(now)
    await storage.close()
    print(f"done {report}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), datetime.fromisoformat(sys.argv[2])))
