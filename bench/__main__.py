"""make bench: every measured target of the issues, printed as one table.

Each part is a module with `run() -> list[tuple[str, str]]` (figure, value); a part that cannot
run here says why instead of hiding.
"""

from __future__ import annotations

import importlib
import sys
import time

PARTS = (
    "bench.faq", "bench.storage", "bench.postgres", "bench.widget", "bench.load", "bench.live",
    "bench.reports",
)


def main(parts: list[str]) -> int:
    rows: list[tuple[str, str]] = []
    for name in parts or PARTS:
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        try:
            module = importlib.import_module(name)
            rows += module.run()
        except Exception as exc:  # one failing part must not hide the others' figures
            rows.append((name, f"FAILED: {exc!r}"))
        print(f"   ({time.perf_counter() - started:.1f} s)", flush=True)
    print()
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:{width}}  {value}")
    return 1 if any(value.startswith("FAILED") for _, value in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
