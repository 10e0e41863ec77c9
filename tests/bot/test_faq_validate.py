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
        (changed(question=None), "faq/one.json: tasse-001: question: manca: è un campo"),
        (changed(answer={"it": "  "}), "faq/one.json: tasse-001: answer.it: il testo è vuoto"),
        (changed(answer={"en": "Only"}), "faq/one.json: tasse-001: answer.it: manca il testo it"),
        (
            changed(topic="carriera"),
            "faq/one.json: tasse-001: topic: argomento 'carriera' sconosciuto: copia l'id esatto",
        ),
        (
            changed(subtopic="borse"),
            "faq/one.json: tasse-001: subtopic: sottoargomento 'borse' sconosciuto",
        ),
        (
            changed(links=[{"label": {"it": "x"}, "url": "www.unipg.it"}]),
            "faq/one.json: tasse-001: links.1.url: indirizzo non valido: 'www.unipg.it'; deve"
            " iniziare con https://",
        ),
        (
            changed(links=[{"label": {"it": "x"}, "url": "http://www.unipg.it"}]),
            "faq/one.json: tasse-001: links.1.url: indirizzo non valido: 'http://www.unipg.it'",
        ),
        (
            changed(id="Tasse 1"),
            "faq/one.json: Tasse 1: id: manca, oppure contiene caratteri non ammessi: usa solo"
            " lettere minuscole a-z, cifre 0-9 e trattini -",
        ),
        (
            changed(keywords="rata"),
            'faq/one.json: tasse-001: keywords: deve essere una lista di testi tra parentesi'
            ' quadre, così: ["...", "..."]',
        ),
        (
            changed(qestion={"it": "typo"}),
            "faq/one.json: tasse-001: qestion: campo sconosciuto: forse volevi scrivere"
            ' "question"? Correggi il nome',
        ),
        (
            changed(domanda={"it": "Quanto costa?"}),
            "faq/one.json: tasse-001: domanda: campo sconosciuto: controlla come è scritto (i campi"
            " sono id, topic, subtopic, question, answer, variants, keywords, links)",
        ),
        (
            changed(variants={"fr": ["x"]}),
            'faq/one.json: tasse-001: variants.fr: lingua sconosciuta: usa "it" (italiano) o "en"',
        ),
    ],
)
def test_each_problem_is_named(tmp_path: Path, faq: dict[str, Any], expected: str) -> None:
    found = problems(corpus(tmp_path, faq))
    assert any(line.startswith(expected) for line in found), found


def test_duplicate_ids(tmp_path: Path) -> None:
    found = problems(corpus(tmp_path, GOOD, GOOD))
    assert found == [
        "faq/one.json: tasse-001: id: questo id c'è già nella FAQ numero 1 di questo file: dai"
        " alla nuova il primo numero libero"
    ]
    (tmp_path / "faq" / "two.json").write_text(json.dumps({"faqs": [GOOD]}))
    assert problems(tmp_path)[-1] == (
        "faq/two.json: tasse-001: id: questo id c'è già in faq/one.json: dai alla nuova il primo"
        " numero libero"
    )


def test_invalid_json_gives_its_line(tmp_path: Path) -> None:
    found = problems(corpus(tmp_path, raw='{"faqs": [\n  {"id": "x",}\n]}'))
    assert len(found) == 1
    assert found[0].startswith("faq/one.json: -: -: JSON non valido alla riga 2")


ITEM = '  {"id": "tasse-001", "topic": "immatricolazioni"}'


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        (
            '{"faqs": [\n  {"id": "tasse-001"\n   "topic": "immatricolazioni"}\n]}',
            "riga 3, colonna 4: manca una virgola (spesso alla fine della riga prima)",
        ),
        (
            '{"faqs": [\n  {"id": "tasse-001",}\n]}',
            "riga 2, colonna 22: c'è una virgola di troppo prima di } (togli quella dopo l'ultimo"
            ' campo), oppure un nome di campo senza virgolette dritte "..."',
        ),
        (
            '{"faqs": [\n' + ITEM + ",\n]}",
            "riga 3, colonna 1: manca un valore; di solito è una virgola di troppo prima di ]",
        ),
        (
            '{"faqs": [\n  {"id": “tasse-001”}\n]}',
            "riga 2, colonna 10: manca un valore; di solito è una virgola di troppo prima di ]"
            " (togli quella dopo l'ultimo elemento), oppure virgolette curve “ ” al posto di quelle"
            ' dritte " (riscrivile con la tastiera invece di copiarle da Word)',
        ),
        (
            '{"faqs": [\n  {"id" "tasse-001"}\n]}',
            "riga 2, colonna 9: mancano i due punti : tra il nome del campo e il suo valore",
        ),
        (
            '{"faqs": [\n' + ITEM + "\n]}\n]}",
            "riga 4, colonna 1: c'è altro testo dopo la fine del file; di solito è una } o una ] di"
            " troppo, oppure manca una virgola tra due FAQ",
        ),
        (
            '{"faqs": [{"id": "tasse-001}]}',
            "riga 1, colonna 18: il testo che inizia qui non è chiuso, manca la virgoletta"
            ' " finale',
        ),
        (
            '{"faqs": [\n  {"id": "tasse-001}\n]}',
            "riga 2, colonna 21: qui un testo va a capo o contiene un carattere invisibile (come"
            ' una tabulazione); forse manca la virgoletta " che chiude il testo: ogni testo sta su'
            " una riga sola (per andare a capo nella risposta scrivi \\n)",
        ),
        (
            '{"faqs": [\n  {"id": "tasse-001", "answer": {"it": "Prima riga\nseconda"}}\n]}',
            "riga 2, colonna 51: qui un testo va a capo",
        ),
        (
            '{"faqs": [\n' + ITEM,
            "riga 2, colonna 51: il file finisce a metà, manca la chiusura (per esempio ] e }):"
            " forse la fine è stata cancellata per sbaglio",
        ),
        # a mistake without its own explanation keeps Python's words
        ('{"faqs": [\n  {"id": "tasse\\001"}\n]}', "riga 2, colonna 16: Invalid \\escape"),
    ],
)
def test_invalid_json_says_in_italian_what_to_do(tmp_path: Path, raw: str, said: str) -> None:
    found = problems(corpus(tmp_path, raw=raw))
    assert len(found) == 1, found
    assert found[0].startswith(f"faq/one.json: -: -: JSON non valido alla {said}"), found


def test_an_empty_file_is_named_as_such(tmp_path: Path) -> None:
    assert problems(corpus(tmp_path, raw="  \n")) == [
        'faq/one.json: -: -: il file è vuoto: rimetti il suo contenuto (un file in faq/ contiene'
        ' almeno {"faqs": []})'
    ]


def test_the_problems_read_in_english_too(tmp_path: Path) -> None:
    root = corpus(tmp_path, changed(question=None, keyword=["rata"]))
    assert [p.line("en") for p in validate_directory(root)] == [
        "faq/one.json: tasse-001: question: missing: this field is required, add it",
        "faq/one.json: tasse-001: keyword: unknown field: did you mean"
        ' "keywords"? Correct the name',
    ]
    english = run_cli("validate", "--lang", "en", str(root))
    assert english.returncode == 1
    assert "question: missing: this field is required" in english.stdout


def test_every_problem_is_reported_not_only_the_first(tmp_path: Path) -> None:
    found = problems(corpus(tmp_path, changed(topic="x"), changed(id="tasse-002", answer=None)))
    assert len(found) == 2


def test_a_missing_italian_text_is_named_whatever_another_faq_lacks(tmp_path: Path) -> None:
    """One FAQ's empty Italian answer must not hide that another FAQ has none at all."""
    empty = changed(id="tasse-002", answer={"it": " "})
    english_only = changed(id="tasse-003", answer={"en": "It depends."})
    found = problems(corpus(tmp_path, empty, english_only))
    assert any(line.startswith("faq/one.json: tasse-002: answer.it: ") for line in found)
    assert any(line.startswith("faq/one.json: tasse-003: answer.it: ") for line in found)


def test_loading_an_invalid_corpus_raises_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="tasse-001: question: manca"):
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
    assert bad.stdout.strip() == (
        "faq/one.json: tasse-001: subtopic: sottoargomento 'x' sconosciuto nell'argomento"
        " 'immatricolazioni': copia l'id esatto da topics.json"
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
        "synonyms.json: -: groups: 'fr:amende': lingua sconosciuta, scrivi it: o en: davanti alla"
        " parola (o niente, per entrambe)"
    ]


def test_a_file_saved_with_a_bom_is_read(tmp_path: Path) -> None:
    # Notepad starts a UTF-8 file with a byte-order mark that the editor never sees.
    root = corpus(tmp_path, GOOD)
    (root / "faq" / "one.json").write_text("\ufeff" + json.dumps({"faqs": [GOOD]}))
    assert problems(root) == []


def test_a_file_instead_of_the_folder_is_named(tmp_path: Path) -> None:
    one = corpus(tmp_path, GOOD) / "faq" / "one.json"
    assert problems(one) == [
        f"{one}: -: -: non è una cartella: indica la cartella che contiene topics.json e faq/"
    ]


def test_a_folder_named_like_a_faq_file_is_named(tmp_path: Path) -> None:
    root = corpus(tmp_path, GOOD)
    (root / "faq" / "vecchio.json").mkdir()
    assert problems(root) == [
        "faq/vecchio.json: -: -: è una cartella, non un file: rinominala o spostala"
    ]


def test_enrolment_must_stay_the_first_topic(tmp_path: Path) -> None:
    root = corpus(tmp_path, GOOD)
    subtopics = TOPICS["topics"][0]["subtopics"]
    other = {"id": "carriera", "label": {"it": "Carriera"}, "subtopics": subtopics}
    (root / "topics.json").write_text(json.dumps({"topics": [other, *TOPICS["topics"]]}))
    assert problems(root) == [
        "topics.json: carriera: -: 'immatricolazioni' deve essere il primo argomento: rimettilo"
        " in cima a topics.json"
    ]
