"""A data folder that holds no data, as a botched restore leaves it.

`cp -a /srv/backup/helpdesk-DATE /var/lib/helpdesk/8081` over a folder that exists copies the
backup into it, one level down. A server would start on it empty (a new key, a new demo
account, every student's ticket "not found"), and a check that reads only what is there would
call it healthy: so both name the copy inside instead."""

from __future__ import annotations

from pathlib import Path


def copy_inside(root: Path) -> Path | None:
    """The data folder one level inside `root`, when `root` itself has none."""
    if not root.is_dir() or (root / "tickets").is_dir():
        return None
    return next((p for p in sorted(root.iterdir()) if _holds_tickets(p)), None)


def _holds_tickets(folder: Path) -> bool:
    # A volume's lost+found is root's, mode 700: unreadable, and no copy of ours either way.
    try:
        return (folder / "tickets").is_dir()
    except PermissionError:
        return False


def copy_inside_reason(inside: Path) -> str:
    return (
        f"holds no data of its own but a data folder inside it, {inside}: a copy put into "
        "the folder instead of in its place? Move that folder's content up one level"
    )
