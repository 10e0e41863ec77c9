"""`python -m web check-data`: verify a whole data folder without changing anything."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from .concurrency import Gate
from .journal import AuditLog, FaqEventLog
from .layout import Layout
from .misplaced import copy_inside, copy_inside_reason
from .retention import RETENTION_DAYS, overdue
from .scan import Problems, scan_folder


def check_data(
    data_dir: Path, *, retention_days: int = RETENTION_DAYS, now: datetime | None = None
) -> list[str]:
    """Every problem in the folder, one line each ("path: what is wrong"); [] when healthy.
    Personal data kept past its time (storage/retention.py) is a problem too.

    Read-only and lock-free, so it also runs beside a live server: every file is replaced
    atomically, so a reader sees either the old version or the new one. Temporary files and a
    torn last journal line are not problems (the owner removes them at its next start)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        return [f"{data_dir}: no such folder"]
    if inside := copy_inside(data_dir):
        return [f"{data_dir}: {copy_inside_reason(inside)}"]
    if not (data_dir / "tickets").is_dir():
        # After a restore, this is the check that says the copy is in place: an empty folder
        # is no copy, whatever a server would start on.
        return [f"{data_dir}: not a data folder (it has no tickets folder); a server would "
                "start on it empty"]
    problems, missing = verify_folder(data_dir)
    if problems:
        # Rules about what a damaged folder keeps would only add noise to the damage.
        return [f"{path}: {reason}" for path, reason in problems + missing]
    late = overdue(Layout(data_dir), retention_days, now or datetime.now(UTC))
    return [f"{path}: {reason}" for path, reason in missing + late]


def verify_folder(data_dir: Path) -> tuple[Problems, Problems]:
    """(damage, attachments missing) as a starting server would find them, without repairing."""
    layout = Layout(data_dir)
    gate = Gate()
    return scan_folder(
        layout,
        index=None,
        audit=AuditLog(layout.audit, gate).journal,
        faq_events=FaqEventLog(layout.faq_events, gate).journal,
        repair=False,
    )
