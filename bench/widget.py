"""The widget's weight on a student's phone: JS and CSS with the Socket.IO client, gzipped."""

from __future__ import annotations

import gzip
from pathlib import Path

STATIC = Path(__file__).resolve().parent.parent / "web" / "static"
FILES = ("widget.js", "widget.css", "vendor/socket.io.min.js")
TARGET = 60 * 1024


def run() -> list[tuple[str, str]]:
    rows = []
    total = 0
    for name in FILES:
        size = len(gzip.compress((STATIC / name).read_bytes(), compresslevel=9))
        total += size
        rows.append((f"widget gzip {name}", f"{size / 1024:.1f} KiB"))
    verdict = "within" if total <= TARGET else "OVER"
    rows.append(("widget gzip total (target <= 60 KiB)", f"{total / 1024:.1f} KiB ({verdict})"))
    return rows


if __name__ == "__main__":
    for name, value in run():
        print(f"{name:40} {value}")
