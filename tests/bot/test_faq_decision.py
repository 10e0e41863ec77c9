"""FaqIndex.decide as a specification: three bands, search unchanged in meaning, and a
confidence model that is the one bench/calibrate.py fits today."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import calibrate
from bench.queries import DEV, load_queries
from bot.confidence import CONFIDENCE, CONFIDENCE_FILE
from bot.faq import FaqIndex
from tests.bot.test_faq_search import FAQS, index_of
from tests.bot.test_faq_validate import run_cli


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> FaqIndex:
    return index_of(tmp_path_factory.mktemp("corpus"), FAQS)


@pytest.mark.parametrize(
    ("query", "band", "best"),
    [
        ("quanto costa la prima rata", "confident", "tasse-001"),
        ("rinuncia agli studi", "confident", "rin-001"),
        # the first instalment is a good guess for a bare "how much", not a sure one
        ("quanto costa", "middle", "tasse-001"),
        ("ho un problema con il test", "none", None),
        ("ciao", "none", None),
    ],
)
def test_a_message_falls_in_one_band(
    index: FaqIndex, query: str, band: str, best: str | None
) -> None:
    decision = index.decide(query)
    assert decision.band == band
    assert (decision.matches[0].id if decision.matches else None) == best


@pytest.mark.parametrize(
    "query",
    ["quanto costa la prima rata", "quanto costa", "ho un problema con il test", "ciao", ""],
)
def test_search_shows_the_confident_band_only(index: FaqIndex, query: str) -> None:
    decision = index.decide(query, limit=2)
    expected = list(decision.matches) if decision.band == "confident" else []
    assert index.search(query, limit=2) == expected


def test_confidence_grows_with_the_score_and_orders_the_bands(index: FaqIndex) -> None:
    assert 0 < CONFIDENCE.middle < CONFIDENCE.confident < 1
    assert [round(CONFIDENCE.of(s), 6) for s in (0, 30, 45, 60, 100)] == sorted(
        round(CONFIDENCE.of(s), 6) for s in (0, 30, 45, 60, 100)
    )
    sure, unsure = index.decide("quanto costa la prima rata"), index.decide("quanto costa")
    assert sure.confidence > unsure.confidence > 0
    assert index.decide("ciao").confidence == 0.0  # no FAQ shares a word with it


def test_folds_never_split_a_faq_and_spread_the_out_of_scope_questions() -> None:
    rows = [
        calibrate.Row(q, (), (0.0, 0.0, 0.0))
        for q in load_queries(Path(__file__).parents[2] / "bench" / "own_queries.jsonl")
    ]
    fold = calibrate.folds(rows, seed=1)
    by_faq: dict[str, set[int]] = {}
    for row, f in zip(rows, fold, strict=True):
        if row.query.gold is not None:
            by_faq.setdefault(row.query.gold, set()).add(f)
    assert all(len(folds) == 1 for folds in by_faq.values())
    oos = [f for row, f in zip(rows, fold, strict=True) if row.query.gold is None]
    counts = [oos.count(f) for f in range(calibrate.FOLDS)]
    assert max(counts) - min(counts) <= 1


@pytest.mark.skipif(not DEV.exists(), reason="shared/faq-eval/dev is not beside the repository")
def test_the_shipped_model_is_the_one_fitted_on_today_s_engine(tmp_path: Path) -> None:
    """A change to the scoring must come with `python -m bench.calibrate --write`."""
    rows = calibrate.rank(FaqIndex.from_directory(DEV / "corpus"), load_queries())
    fitted = tmp_path / "confidence.json"
    calibrate.write(calibrate.fit(rows, calibrate.SHIPPED), rows, fitted)
    assert json.loads(fitted.read_text()) == json.loads(CONFIDENCE_FILE.read_text())


def test_the_cli_names_the_band(tmp_path: Path) -> None:
    index_of(tmp_path, FAQS)
    for query, band in (("quanto costa la prima rata", "confident"), ("quanto costa", "middle")):
        found = run_cli("search", "--data", str(tmp_path), query)
        assert found.returncode == 0
        assert found.stdout.startswith(f"band {band}, confidence 0.")
