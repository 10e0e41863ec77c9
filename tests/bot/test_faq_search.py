"""FaqIndex as a specification: golden queries for each kind of normalisation, abstention,
topic boosts, and the measured DEV-set floor."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.queries import DEV
from bot import text
from bot.faq import FaqIndex
from bot.scoring import query_language

ROOT = Path(__file__).resolve().parents[2]
CORPUS = {
    "topics": [
        {
            "id": "immatricolazioni",
            "label": {"it": "Immatricolazioni", "en": "Enrolment"},
            "subtopics": [
                {"id": "tasse", "label": {"it": "Tasse"}},
                {"id": "test", "label": {"it": "Test"}},
            ],
        }
    ]
}
FAQS = [
    {
        "id": "tasse-001",
        "topic": "immatricolazioni",
        "subtopic": "tasse",
        "question": {
            "it": "Quanto costa la prima rata?",
            "en": "How much is the first instalment?",
        },
        "answer": {"it": "La prima rata comprende tassa regionale e bollo; si paga con pagoPA."},
        "variants": {"it": ["importo della prima rata"]},
        "keywords": ["prima rata", "pagopa"],
    },
    {
        "id": "tasse-002",
        "topic": "immatricolazioni",
        "subtopic": "tasse",
        "question": {"it": "Come presento l'ISEE per l'università?"},
        "answer": {"it": "Inserisci l'attestazione ISEE per le prestazioni universitarie."},
        "keywords": ["isee"],
    },
    {
        "id": "test-001",
        "topic": "immatricolazioni",
        "subtopic": "test",
        "question": {"it": "Dove vedo la graduatoria del test di ammissione?"},
        "answer": {"it": "La graduatoria è pubblicata nella tua area riservata."},
        "keywords": ["graduatoria", "esito"],
    },
    {
        "id": "test-002",
        "topic": "immatricolazioni",
        "subtopic": "test",
        "question": {"it": "Cosa sono gli OFA e come si recuperano?"},
        "answer": {"it": "Gli obblighi formativi aggiuntivi si recuperano nel primo anno."},
        "keywords": ["ofa", "debiti formativi"],
    },
    {
        "id": "cred-001",
        "topic": "immatricolazioni",
        "subtopic": "tasse",
        "question": {"it": "Ho dimenticato la password del portale", "en": "I forgot my password"},
        "answer": {"it": "Usa il recupero password su idm.unipg.it."},
        "keywords": ["password", "credenziali"],
    },
    {
        "id": "int-001",
        "topic": "immatricolazioni",
        "subtopic": "test",
        "question": {"it": "Entro quando chiedo il permesso di soggiorno?"},
        "answer": {"it": "Entro otto giorni dall'arrivo in Italia, con il kit postale."},
        "keywords": ["permesso di soggiorno", "questura"],
    },
    {
        "id": "rin-001",
        "topic": "immatricolazioni",
        "subtopic": "tasse",
        "question": {"it": "Come rinuncio agli studi?"},
        "answer": {"it": "La rinuncia si presenta online e richiede una marca da bollo."},
        "keywords": ["rinuncia", "ritiro"],
    },
    {
        "id": "tra-001",
        "topic": "immatricolazioni",
        "subtopic": "test",
        "question": {"it": "Come mi trasferisco da un altro ateneo a Perugia?"},
        "answer": {"it": "Chiedi il trasferimento all'ateneo di partenza, poi completa qui."},
        "keywords": ["trasferimento", "nulla osta"],
    },
]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> FaqIndex:
    synonyms = [["graduatoria", "classifica"], ["tasse", "contributi"]]
    return index_of(tmp_path_factory.mktemp("corpus"), FAQS, synonyms)


def index_of(
    root: Path, faqs: list[dict[str, Any]], synonyms: list[list[str]] | None = None
) -> FaqIndex:
    """A corpus folder with these FAQs (and synonyms.json when given), loaded."""
    (root / "faq").mkdir()
    (root / "topics.json").write_text(json.dumps(CORPUS))
    (root / "faq" / "all.json").write_text(json.dumps({"faqs": faqs}))
    if synonyms is not None:
        (root / "synonyms.json").write_text(json.dumps({"groups": synonyms}))
    return FaqIndex.from_directory(root)


def top(index: FaqIndex, query: str, lang: str = "it") -> str | None:
    matches = index.search(query, lang=lang)
    return matches[0].id if matches else None


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("dell'immatricolazione", ["dell", "immatricolazione"]),
        ("Perché È così", ["perche", "e", "cosi"]),
        ("nn ho capito xké cmq", ["non", "ho", "capito", "perche", "comunque"]),
        ("rata... pagoPA!!", ["rata", "pagopa"]),
    ],
)
def test_words_fold_case_accents_elisions_and_abbreviations(
    words: str, expected: list[str]
) -> None:
    assert text.words(words) == expected


def test_stop_words_go_and_stems_meet() -> None:
    words = text.content_words("la scadenza delle scadenze", "it")
    assert [text.stem(w, "it") for w in words] == ["scadenz", "scadenz"]
    # except where Snowball meets words that only look alike: mail is not a place
    mail, place = (
        {text.stem(w, "it") for w in pair} for pair in (("posta", "poste"), ("posto", "posti"))
    )
    assert len(mail) == len(place) == 1 and mail != place


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("quanto costa la prima rata", "tasse-001"),  # plain
        ("QUANTO COSTA LA PRIMA RATA???", "tasse-001"),  # case and punctuation
        ("quanto costa la prma rata", "tasse-001"),  # typo
        ("prima rata quanto costa", "tasse-001"),  # word order
        ("isee", "tasse-002"),  # one word
        ("dove si vede la classifica del test", "test-001"),  # synonym
        ("dove si vede la graduatorai", "test-001"),  # typo on the key word
        ("how much is the first instalment", "tasse-001"),  # English
        (
            "Buongiorno, scusate il disturbo, sono una studentessa al primo anno e volevo "
            "sapere dove vedo la graduatoria del test di ammissione che ho fatto la settimana "
            "scorsa, grazie mille",
            "test-001",
        ),  # long and rambling
        ("nn trovo la graduatoria x il test", "test-001"),  # chat shorthand
    ],
)
def test_golden_queries(index: FaqIndex, query: str, expected: str) -> None:
    assert top(index, query) == expected


@pytest.mark.parametrize(
    "query", ["ciao", "grazie mille!", "buongiorno", "a che ora apre la biblioteca?", "", "???"]
)
def test_abstains_on_greetings_and_out_of_scope(index: FaqIndex, query: str) -> None:
    assert index.search(query) == []


def test_scores_are_0_to_100_best_first(index: FaqIndex) -> None:
    matches = index.search("prima rata isee", limit=3)
    assert matches and all(0 <= m.score <= 100 for m in matches)
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)


def test_subtopic_boosts_but_never_hides(index: FaqIndex) -> None:
    # A student who picked the wrong subtopic still gets the right FAQ.
    assert top(index, "dove vedo la graduatoria", lang="it") == "test-001"
    wrong = index.search("dove vedo la graduatoria", topic="immatricolazioni", subtopic="tasse")
    assert wrong and wrong[0].id == "test-001"
    plain = index.search("graduatoria prima rata")
    boosted = index.search("graduatoria prima rata", topic="immatricolazioni", subtopic="test")
    assert {m.id: m.score for m in boosted}["test-001"] > {m.id: m.score for m in plain}["test-001"]


@pytest.mark.parametrize(
    ("corpus", "queries", "hit3", "hit3_ranked", "abstain"),
    [
        pytest.param(
            DEV / "corpus",
            DEV / "queries.jsonl",
            0.70,
            0.90,
            0.85,
            id="DEV",
            marks=pytest.mark.skipif(
                not DEV.exists(), reason="shared/faq-eval/dev is not beside the repository"
            ),
        ),
        pytest.param(
            ROOT / "faq_data", ROOT / "bench" / "own_queries.jsonl", 0.76, 0.88, 0.83, id="held-out"
        ),
    ],
)
def test_search_quality_floor(
    corpus: Path, queries: Path, hit3: float, hit3_ranked: float, abstain: float
) -> None:
    """A little under the figures `make bench` measured (see README): a change that makes the
    engine clearly worse fails here. DEV's hit@3 floor is the target of the foundation issue."""
    from bench.faq import evaluate, load_queries, shipped

    engine, ranking = shipped(FaqIndex.from_directory(corpus))
    row = evaluate(engine, ranking, load_queries(queries)).total.row()
    assert row["hit@3"] >= hit3
    assert row["hit@3 no thr"] >= hit3_ranked
    assert row["abstain"] >= abstain


def test_a_corpus_without_its_own_synonyms_still_gets_the_general_ones(tmp_path: Path) -> None:
    index = index_of(tmp_path, FAQS)
    assert top(index, "dove vedo la classifica del test") == "test-001"
    assert top(index, "voglio mollare gli studi") == "rin-001"


def test_a_typo_inside_a_synonym_phrase_still_reads_the_phrase(index: FaqIndex) -> None:
    exact = index.search_ranked("quando chiedo il permesso di soggiorno")
    typo = index.search_ranked("quando chiedo il permesso di sogiorno")
    assert exact and typo and typo[0].id == exact[0].id == "int-001"
    assert typo[0].score >= 0.85 * exact[0].score


def test_a_synonym_tagged_with_a_language_counts_in_that_language_only(tmp_path: Path) -> None:
    faqs = [
        {
            "id": "tasse-001",
            "topic": "immatricolazioni",
            "subtopic": "tasse",
            "question": {"it": "Quanto è la mora?", "en": "How much is the penalty?"},
            "answer": {"it": "La mora dipende dai giorni di ritardo."},
        },
        {
            "id": "test-001",
            "topic": "immatricolazioni",
            "subtopic": "test",
            "question": {"it": "Quando esce la graduatoria a fine test?"},
            "answer": {"it": "Alla fine di settembre."},
        },
    ]
    index = index_of(tmp_path, faqs, [["mora", "penalty", "en:fine"]])
    assert index.search_ranked("is there a fine", lang="en")[0].id == "tasse-001"
    # in Italian "fine" is the end, and nothing about a penalty
    assert [m.id for m in index.search_ranked("fine del test", lang="it")] == ["test-001"]


def test_a_phrase_in_a_faq_still_says_its_own_words(tmp_path: Path) -> None:
    faqs = [
        {
            "id": "mail-001",
            "topic": "immatricolazioni",
            "subtopic": "tasse",
            "question": {"it": "Come attivo la posta elettronica istituzionale?"},
            "answer": {"it": "Dal portale, dopo l'immatricolazione."},
        },
        FAQS[0],
    ]
    # "posta elettronica" is a phrase of the general synonyms, read as one token
    index = index_of(tmp_path, faqs)
    assert [m.id for m in index.search_ranked("dove leggo la posta?")] == ["mail-001"]


def test_accommodations_for_a_disability_are_not_housing() -> None:
    """"Accommodation" is housing, and also what a student with a disability or DSA asks for
    at the test: the general synonyms leave it out of the housing group, and the FAQs' own
    words decide (the housing FAQ says it in English)."""
    index = FaqIndex.from_directory(ROOT / "faq_data")
    asked = index.search_ranked("what accommodations are there for students with DSA?", "en")
    assert asked[0].id in {"situazioni-002", "situazioni-003"}
    assert index.search_ranked("student accommodation", "en")[0].id == "alloggi-001"


def test_a_message_that_says_one_variant_whole_finds_its_faq(tmp_path: Path) -> None:
    """Variants pad a FAQ's question field: a message that is one of them matched a small
    share of that field, and a FAQ with a short question that merely shared its word won."""
    padded = {
        "id": "proc-001",
        "topic": "immatricolazioni",
        "subtopic": "tasse",
        "question": {"it": "Come si compila online la domanda di immatricolazione sul portale?"},
        "variants": {"it": [
            "passaggi della procedura online sul portale", "dove si compila la domanda",
            "da dove comincio per la domanda sul portale", "come mi iscrivo?",
        ]},
        "answer": {"it": "Dal portale SOL, nella sezione Immatricolazione."},
    }
    short = {
        "id": "int-003",
        "topic": "immatricolazioni",
        "subtopic": "tasse",
        "question": {"it": "Iscriversi dall'estero"},
        "answer": {"it": "Con la preiscrizione su Universitaly."},
    }
    index = index_of(tmp_path, [padded, short])
    assert index.search_ranked("come mi iscrivo?")[0].id == "proc-001"


@pytest.mark.parametrize(
    ("query", "lang", "read_as"),
    [
        # "i" is an Italian article too, "help" a word Italians chat with: neither decides
        ("I need help with my residence permit", "it", "en"),
        ("how do I pay the first instalment?", "it", "en"),
        ("come pago la prima rata?", "en", "it"),
        ("help", "it", "it"),
        ("isee", "en", "en"),
    ],
)
def test_the_words_decide_the_language_over_the_chats(query: str, lang: str, read_as: str) -> None:
    assert query_language(query, lang) == read_as
