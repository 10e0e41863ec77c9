"""The labelled queries that score the FAQ search: shared/faq-eval's DEV set, and the held-out
queries on our own corpus (bench/own_queries.jsonl)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

OWN = Path(__file__).resolve().parent.parent
# shared/ sits beside the repository, or further up for a git worktree (wt/NAME beside main).
DEV = (
    next((p / "shared" for p in OWN.parents if (p / "shared").is_dir()), OWN.parent / "shared")
    / "faq-eval"
    / "dev"
)
HELD_OUT = OWN / "bench" / "own_queries.jsonl"


@dataclass(frozen=True)
class Query:
    q: str
    lang: str
    gold: str | None  # None: out of scope, no FAQ answers it
    kind: str


def load_queries(path: Path = DEV / "queries.jsonl") -> list[Query]:
    return [Query(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]
