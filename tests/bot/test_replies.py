"""The office's own ready texts (faq_data/replies.json): checked like the FAQ, every problem at
once, and found by the words an operator types."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.faq import FaqIndex, validate_directory
from bot.replies import Reply, find, load_replies
from tests.bot.test_faq_validate import GOOD, ROOT, corpus

RECEIPT: dict[str, Any] = {
    "id": "chiedi-ricevuta",
    "title": {"it": "Chiedere la ricevuta", "en": "Ask for the receipt"},
    "text": {"it": "Ci invii la ricevuta pagoPA.", "en": "Please send the pagoPA receipt."},
}


def with_replies(root: Path, content: Any) -> Path:
    corpus(root, GOOD)
    text = content if isinstance(content, str) else json.dumps(content)
    (root / "replies.json").write_text(text)
    return root


def test_the_shipped_texts_load_and_a_corpus_without_the_file_has_none(tmp_path: Path) -> None:
    assert len(FaqIndex.from_directory(ROOT / "faq_data").replies) >= 5
    assert FaqIndex.from_directory(corpus(tmp_path, GOOD)).replies == ()


def test_every_problem_is_named_with_its_text_and_field(tmp_path: Path) -> None:
    root = with_replies(tmp_path, {"replies": [
        RECEIPT,
        {**RECEIPT},  # the same id again
        {"id": "Con Spazi", "title": {"it": "x"}, "text": {"it": "y"}},
        {"id": "senza-italiano", "title": {"en": "Only English"}, "text": {"it": "y"}},
        {"id": "lungo", "title": {"it": "t" * 121}, "text": {"it": "y"}, "colore": "rosso"},
        "not an object",
    ]})
    assert [str(p) for p in validate_directory(root)] == [
        "replies.json: chiedi-ricevuta: id: questo id c'è già: ogni testo ha un id diverso",
        "replies.json: Con Spazi: id: usa solo lettere minuscole, cifre e trattini",
        "replies.json: senza-italiano: title.it: manca il testo italiano (\"it\"): aggiungilo,"
        " l'inglese è facoltativo ma l'italiano no",
        "replies.json: lungo: colore: campo sconosciuto: controlla come è scritto (i campi sono"
        " id, title, text)",
        "replies.json: lungo: title.it: è più lungo di 120 caratteri: accorcialo",
        "replies.json: #6: -: deve essere un oggetto con id, title e text",
    ]


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ('{"replies": [', "replies.json: -: -: JSON non valido alla riga 1, colonna 14"),
        (
            {"testi": []},
            'replies.json: -: replies: deve esserci una lista sotto la chiave "replies", così:'
            ' {"replies": [ ... ]}',
        ),
    ],
)
def test_a_broken_file_says_what_is_wrong(tmp_path: Path, content: Any, said: str) -> None:
    problems = [str(p) for p in validate_directory(with_replies(tmp_path, content))]
    assert len(problems) == 1 and problems[0].startswith(said)


def test_the_texts_are_found_by_the_start_of_every_word_typed(tmp_path: Path) -> None:
    other = {"id": "verifica", "title": {"it": "Verifica in corso"},
             "text": {"it": "Abbiamo inoltrato la richiesta all'ufficio."}}
    replies = load_replies(with_replies(tmp_path, {"replies": [RECEIPT, other]}))
    assert [r.id for r in find(replies, "", "it")] == ["chiedi-ricevuta", "verifica"]
    assert [r.id for r in find(replies, "RICEV pagopa", "it")] == ["chiedi-ricevuta"]
    assert [r.id for r in find(replies, "ufficio verifica", "it")] == ["verifica"]
    assert find(replies, "ricevuta ufficio", "it") == []
    # English where written, Italian where not
    assert [r.id for r in find(replies, "receipt", "en")] == ["chiedi-ricevuta"]
    assert [r.id for r in find(replies, "inoltrato", "en")] == ["verifica"]
    assert isinstance(replies[0], Reply) and replies[1].title_in("en") == "Verifica in corso"
