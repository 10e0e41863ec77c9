"""Text normalisation for FAQ search, Italian and English.

A student's message and an FAQ are reduced to the same kind of tokens: lower case, no accents,
elisions split ("dell'immatricolazione" -> "immatricolazione"), chat abbreviations expanded
("nn" -> "non"), stop words dropped, words stemmed with Snowball. Stems are what the index
compares; the folded words are kept too, for fuzzy matching of typos.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

import snowballstemmer

_WORD = re.compile(r"[a-z0-9]+")

# Students' chat shorthand. Only expansions that are unambiguous in a help-desk message.
ABBREVIATIONS: dict[str, str] = {
    "nn": "non",
    "x": "per",
    "xke": "perche",
    "xche": "perche",
    "pk": "perche",
    "cmq": "comunque",
    "qnd": "quando",
    "qnt": "quanto",
    "1a": "prima",
    "2a": "seconda",
    "3a": "terza",
    "4a": "quarta",
    "1o": "primo",
    "2o": "secondo",
    "qndo": "quando",
    "cm": "come",
    "cn": "con",
    "ke": "che",
    "k": "che",
    "qlc": "qualcosa",
    "qualke": "qualche",
    "dv": "dove",
    "sn": "sono",
    "tt": "tutto",
    "pw": "password",
    "pwd": "password",
    "psw": "password",
    "uni": "universita",
    "univ": "universita",
    "mag": "magistrale",
    "tri": "triennale",
    "doc": "documenti",
    "info": "informazioni",
    "msg": "messaggio",
    "num": "numero",
    "n": "numero",
    "grad": "graduatoria",
    "u": "you",
    "ur": "your",
    "pls": "please",
    "plz": "please",
    "thx": "thanks",
}


def _stop_words(lang: str) -> frozenset[str]:
    """Words that carry no topic (bot/data/stopwords-*.txt). Question words stay out of the
    lists where they change the intent ("quando" for deadlines, "quanto" for amounts)."""
    path = Path(__file__).with_name("data") / f"stopwords-{lang}.txt"
    return frozenset(w.strip() for w in path.read_text(encoding="utf-8").split() if w.strip())


STOP_WORDS: dict[str, frozenset[str]] = {lang: _stop_words(lang) for lang in ("it", "en")}
# An English message drops Italian stop words too (students in the English chat mix the two);
# an Italian one only Italian ones, since English function words rarely appear in it and some
# ("test") are Italian content.
_DROPPED = {"it": STOP_WORDS["it"], "en": STOP_WORDS["it"] | STOP_WORDS["en"]}

_STEMMERS = {"it": "italian", "en": "english"}


# The combining diacritical marks that NFKD splits off accented letters.
_ACCENTS = re.compile("[\u0300-\u036f]")


def fold(text: str) -> str:
    """Lower case without accents (punctuation stays: `words` splits on it)."""
    lowered = text.lower()
    if lowered.isascii():  # most messages: nothing to decompose
        return lowered
    return _ACCENTS.sub("", unicodedata.normalize("NFKD", lowered))


def words(text: str) -> list[str]:
    """Folded words with the students' abbreviations expanded."""
    return [ABBREVIATIONS.get(w, w) for w in _WORD.findall(fold(text))]


# Words the Snowball stemmer folds together although students mean different things by them:
# "posta" (mail) and "posto" (a place on a course) both become "post".
_STEMMED_APART = {
    "it": {"posta": "posta", "poste": "posta", "posto": "posto", "posti": "posto"},
}


@lru_cache(maxsize=65536)
def stem(word: str, lang: str) -> str:
    apart = _STEMMED_APART.get(lang, {}).get(word)
    if apart is not None:
        return apart
    stemmer = _stemmer(lang)
    return str(stemmer.stemWord(word))


@lru_cache(maxsize=2)
def _stemmer(lang: str) -> Any:
    return snowballstemmer.stemmer(_STEMMERS.get(lang, "italian"))


def content_words(text: str, lang: str) -> list[str]:
    """Folded words that carry meaning, stop words out (_DROPPED says which)."""
    stop = _DROPPED.get(lang, STOP_WORDS["it"])
    return [w for w in words(text) if w not in stop and (len(w) > 1 or w.isdigit())]
