"""`python -m bot.faq validate`: one line per problem, `file: faq-id: field: what is wrong`."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.faq import CorpusError, FaqIndex, validate_directory

ROOT = Path(__file__).resolve().parents[2]
TOPICS = {
    "topics": [
        {
            "id": "immatricolazioni",
            "label": {"it": "Immatricolazioni", "en": "Enrolment"},
            "subtopics": [{"id": "tasse", "label": {"it": "Tasse", "en": "Fees"}}],
        }
    ]
}
GOOD: dict[str, Any] = {
    "id": "tasse-001",
    "topic": "immatricolazioni",
    "subtopic": "tasse",
    "question": {"it": "Quanto costa la prima rata?", "en": "How much is the first instalment?"},
    "answer": {"it": "Dipende dall'ISEE.", "en": "It depends on the ISEE."},
    "variants": {"it": ["importo prima rata"]},
    "keywords": ["rata"],
    "links": [{"label": {"it": "Tasse"}, "url": "https://www.unipg.it"}],
}


def corpus(root: Path, *faqs: dict[str, Any], raw: str | None = None) -> Path:
    (root / "faq").mkdir(parents=True, exist_ok=True)
    (root / "topics.json").write_text(json.dumps(TOPICS))
    (root / "faq" / "one.json").write_text(
        raw if raw is not None else json.dumps({"faqs": list(faqs)})
    )
    return root


def problems(root: Path) -> list[str]:
    return [str(p) for p in validate_directory(root)]


def changed(**fields: Any) -> dict[str, Any]:
    faq = copy.deepcopy(GOOD)
    for key, value in fields.items():
        if value is None:
            faq.pop(key)
        else:
            faq[key] = value
    return faq


def test_a_valid_corpus_has_no_problems(tmp_path: Path) -> None:
    assert problems(corpus(tmp_path, GOOD)) == []


def test_the_shipped_corpus_is_valid() -> None:
    assert problems(ROOT / "faq_data") == []


@pytest.mark.parametrize(
    ("faq", "expected"),
    [
        (changed(question=None), "faq/one.json: tasse-001: question: missing"),
        (changed(answer={"it": "  "}), "faq/one.json: tasse-001: answer.it: empty text"),
        (changed(answer={"en": "Only English"}), "faq/one.json: tasse-001: answer.it: missing"),
        (changed(topic="carriera"), "faq/one.json: tasse-001: topic: unknown topic 'carriera'"),
        (changed(subtopic="borse"), "faq/one.json: tasse-001: subtopic: unknown subtopic 'borse'"),
        (
            changed(links=[{"label": {"it": "x"}, "url": "www.unipg.it"}]),
            "faq/one.json: tasse-001: links.1.url: not a valid https address",
        ),
        (
            changed(links=[{"label": {"it": "x"}, "url": "http://www.unipg.it"}]),
            "faq/one.json: tasse-001: links.1.url: not a valid https address",
        ),
        (changed(id="Tasse 1"), "faq/one.json: Tasse 1: id: missing or not made of a-z"),
        (changed(keywords="rata"), "faq/one.json: tasse-001: keywords: must be a list of texts"),
        (changed(qestion={"it": "typo"}), "faq/one.json: tasse-001: qestion: unknown field"),
        (changed(variants={"fr": ["x"]}), "faq/one.json: tasse-001: variants.fr: unknown language"),
    ],
)
def test_each_problem_is_named(tmp_path: Path, faq: dict[str, Any], expected: str) -> None:
    found = problems(corpus(tmp_path, faq))
    assert any(line.startswith(expected) for line in found), found


def test_duplicate_ids(tmp_path: Path) -> None:
    found = problems(corpus(tmp_path, GOOD, GOOD))
    assert found == [
        "faq/one.json: tasse-001: id: duplicate id, also the FAQ number 1 of this file"
    ]
    (tmp_path / "faq" / "two.json").write_text(json.dumps({"faqs": [GOOD]}))
    assert problems(tmp_path)[-1] == "faq/two.json: tasse-001: id: duplicate id, also faq/one.json"


def test_invalid_json_gives_its_line(tmp_path: Path) -> None:
    found = problems(corpus(tmp_path, raw='{"faqs": [\n  {"id": "x",}\n]}'))
    assert len(found) == 1
    assert found[0].startswith("faq/one.json: -: -: invalid JSON at line 2")


def test_every_problem_is_reported_not_only_the_first(tmp_path: Path) -> None:
    found = problems(corpus(tmp_path, changed(topic="x"), changed(id="tasse-002", answer=None)))
    assert len(found) == 2


def test_loading_an_invalid_corpus_raises_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="tasse-001: question: missing"):
        FaqIndex.from_directory(corpus(tmp_path, changed(question=None)))


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.faq", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_cli_validate_exit_codes(tmp_path: Path) -> None:
    ok = run_cli("validate", str(corpus(tmp_path / "good", GOOD)))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = run_cli("validate", str(corpus(tmp_path / "bad", changed(subtopic="x"))))
    assert bad.returncode == 1
    assert (
        bad.stdout.strip()
        == "faq/one.json: tasse-001: subtopic: unknown subtopic 'x' of topic 'immatricolazioni'"
    )


def test_cli_search_prints_scores(tmp_path: Path) -> None:
    found = run_cli("search", "--data", str(corpus(tmp_path, GOOD)), "quanto costa la prima rata")
    assert found.returncode == 0
    assert "tasse-001" in found.stdout
    nothing = run_cli("search", "--data", str(corpus(tmp_path, GOOD)), "ciao")
    assert "no FAQ is relevant enough" in nothing.stdout


def test_a_synonym_tagged_with_an_unknown_language_is_named(tmp_path: Path) -> None:
    root = corpus(tmp_path, GOOD)
    (root / "synonyms.json").write_text(json.dumps({"groups": [["mora", "en:fine", "fr:amende"]]}))
    assert problems(root) == [
        "synonyms.json: -: groups: 'fr:amende': unknown language, use it: or en:"
    ]


def test_a_file_saved_with_a_bom_is_read(tmp_path: Path) -> None:
    # Notepad starts a UTF-8 file with a byte-order mark that the editor never sees.
    root = corpus(tmp_path, GOOD)
    (root / "faq" / "one.json").write_text("\ufeff" + json.dumps({"faqs": [GOOD]}))
    assert problems(root) == []


def test_a_file_instead_of_the_folder_is_named(tmp_path: Path) -> None:
    one = corpus(tmp_path, GOOD) / "faq" / "one.json"
    assert problems(one) == [f"{one}: -: -: not a folder: name the one with topics.json and faq/"]


def test_a_folder_named_like_a_faq_file_is_named(tmp_path: Path) -> None:
    root = corpus(tmp_path, GOOD)
    (root / "faq" / "vecchio.json").mkdir()
    assert problems(root) == ["faq/vecchio.json: -: -: a folder, not a file: rename or move it"]


def test_enrolment_must_stay_the_first_topic(tmp_path: Path) -> None:
    root = corpus(tmp_path, GOOD)
    subtopics = TOPICS["topics"][0]["subtopics"]
    other = {"id": "carriera", "label": {"it": "Carriera"}, "subtopics": subtopics}
    (root / "topics.json").write_text(json.dumps({"topics": [other, *TOPICS["topics"]]}))
    assert problems(root) == [
        "topics.json: carriera: -: 'immatricolazioni' must be the first topic"
    ]
