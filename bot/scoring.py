"""How well each FAQ matches a message: the corpus as seen by one query language, scored.

How a match is scored, in short:
1. Query and FAQ texts are normalised to stems (bot.text), and words that mean the same thing
   to students are folded onto one token: the general groups shipped with the engine
   (bot/data/synonyms.json) and the corpus's own (faq_data/synonyms.json for ours).
2. A word the corpus does not know is looked up among the corpus's words with rapidfuzz, so
   typos ("iscrizone", "graduatorai") still count, in proportion to their similarity.
3. Each FAQ gets a BM25 score over three fields (question and variants, keywords, answer),
   weighted by how much each field says about the intent.
4. The score adds the share of the query's information (IDF mass) that the FAQ covers. Words
   that no FAQ uses ("biblioteca", "wifi") weigh in the denominator, so a question about
   something the corpus does not talk about covers little and gets no suggestion, while a
   long, rambling message still covers enough through its informative words.
5. A message that says one of the FAQ's phrasings (its question or a variant) nearly whole
   earns a bonus: pooled with the other variants, "come mi iscrivo?" was a small share of the
   question field, and a FAQ with a short question that only shared the verb ranked first.
Topic and subtopic only add a small bonus: students pick the wrong subtopic. What the best
score means (how sure the assistant may be) is bot.confidence's.
The scoring runs over per-word postings as numpy arrays: a query costs the FAQs that share a
word with it, well under a millisecond at 2,000 FAQs.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

from bot import text
from bot.corpus import LANGS, Faq, split_language

# Field weights: a question or variant states the intent; keywords name it; the answer
# mentions many things beside it.
FIELD_WEIGHTS = {"question": 1.0, "keywords": 0.8, "answer": 0.35}
BM25_K1 = 1.2
BM25_B = 0.5
# A misspelt word counts when it is this similar (0..100) to a word of the corpus.
FUZZY_CUTOFF = 80
FUZZY_MIN_LENGTH = 4
# The IDF of a word found in a single FAQ, whatever the corpus size (see LangIndex).
IDF_REFERENCE = 4.4
QUESTION_COVERAGE_WEIGHT = 4.0
QUERY_COVERAGE_WEIGHT = 1.0
UNKNOWN_WORD_WEIGHT = 0.8
FULL_COVERAGE_BONUS = 2.0
PHRASING_BONUS = 2.0
PHRASING_POWER = 4
# Evidence is mapped onto 0..100 by 100 * (1 - exp(-evidence / scale)).
EVIDENCE_SCALE = 8.4
TOPIC_BONUS = 0.3
SUBTOPIC_BONUS = 0.5

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class _Posting:
    docs: npt.NDArray[np.intp]
    saturation: FloatArray  # what the word earns each FAQ, 0..1
    question: FloatArray  # the share of each FAQ's question mass it is, 0 if not there


@dataclass(frozen=True)
class _Phrasings:
    """Each question and variant of every FAQ on its own: a message that says one of them
    whole is that FAQ's, however many other variants pad its question field."""

    starts: npt.NDArray[np.intp]  # each FAQ's first phrasing (phrasings are in FAQ order)
    count: int
    postings: dict[str, tuple[npt.NDArray[np.intp], FloatArray]]  # token -> (phrasings, share)


@dataclass(frozen=True)
class _Doc:
    faq: Faq
    fields: dict[str, Counter[str]]
    length: dict[str, int]


class LangIndex:
    """The corpus as seen by one query language."""

    def __init__(
        self, faqs: Sequence[Faq], lang: str, synonyms: tuple[dict[str, str], dict[str, str]]
    ) -> None:
        self.lang = lang
        self.synonyms, self.phrases = synonyms
        # Most words start no phrase: they skip the look-ups of the two- and three-word joins.
        self.phrase_starts = {phrase.split(" ", 1)[0] for phrase in self.phrases}
        self.docs: list[_Doc] = []
        self.words: dict[str, str] = {}  # folded word -> its token, for fuzzy look-up
        doc_freq: dict[str, float] = {}
        phrasings: list[tuple[int, Counter[str]]] = []
        for faq in faqs:
            question_texts = [faq.question_in(lang), *faq.variants.get(lang, ())]
            if lang != "it" and lang not in faq.question:
                # No translation: the Italian variants still describe the intent.
                question_texts += list(faq.variants.get("it", ()))
            question: Counter[str] = Counter()
            for phrasing in question_texts:
                words = self._count([phrasing])
                question.update(words)
                phrasings.append((len(self.docs), words))
            fields = {
                "question": question,
                "keywords": self._count(faq.keywords, both_languages=True),
                "answer": self._count([faq.answer_in(lang)]),
            }
            self.docs.append(_Doc(faq, fields, {k: sum(v.values()) for k, v in fields.items()}))
            # A FAQ counts towards a word's document frequency as much as its field that
            # uses the word says about its intent: "immatricolazione" in every answer of an
            # enrolment corpus is still informative in a question, where fewer FAQs use it.
            said: dict[str, float] = {}
            for name, counter in fields.items():
                for token in counter:
                    said[token] = max(said.get(token, 0.0), FIELD_WEIGHTS[name])
            for token, weight in said.items():
                doc_freq[token] = doc_freq.get(token, 0.0) + weight
        n = max(len(self.docs), 1)
        # IDF grows with the corpus; rescaled so that a word found in one FAQ weighs the same
        # in a corpus of 20 FAQs and of 2,000, and one threshold fits both.
        self.max_idf = IDF_REFERENCE
        top = math.log(1 + (n + 0.5) / 0.5)
        self.idf = {
            t: IDF_REFERENCE / top * math.log(1 + (n - df + 0.5) / (df + 0.5))
            for t, df in doc_freq.items()
        }
        self.avg_length = {
            f: (sum(d.length[f] for d in self.docs) / n) or 1.0 for f in FIELD_WEIGHTS
        }
        # The words of synonym phrases count as known words too ("codce" -> "codice").
        self.phrase_words = {w for phrase in self.phrases for w in phrase.split()}
        self.word_list = sorted({w for w in self.words if " " not in w} | self.phrase_words)
        self.postings = self._postings()
        self.phrasings = self._phrasings(phrasings)
        self.topic_of = np.array([d.faq.topic for d in self.docs])
        self.subtopic_of = np.array([d.faq.subtopic for d in self.docs])

    def _token(self, word: str, lang: str | None = None) -> str:
        stemmed = text.stem(word, lang or self.lang)
        return self.synonyms.get(stemmed, stemmed)

    def _count(self, texts: Iterable[str], both_languages: bool = False) -> Counter[str]:
        counter: Counter[str] = Counter()
        for item in texts:
            for lang in LANGS if both_languages else (self.lang,):
                for word, token in self._tokens(item, lang):
                    counter[token] += 1
                    self.words.setdefault(word, token)
                    # A synonym phrase still says its own words: a FAQ on the "posta
                    # elettronica" is found by a student who just writes "posta".
                    if " " in word:
                        for part in word.split():
                            counter[self._token(part, lang)] += 1
        return counter

    def _tokens(self, item: str, lang: str | None = None) -> list[tuple[str, str]]:
        """(folded word, token) pairs; a synonym phrase ("posto letto") becomes one token."""
        return [
            (word, token)
            for word, token, _ in self._group(text.content_words(item, lang or self.lang), lang)
        ]

    def _group(
        self, found: Sequence[str], lang: str | None = None, weights: Sequence[float] = ()
    ) -> list[tuple[str, str, float]]:
        """(word or phrase, token, weight) for content words, a synonym phrase of two or
        three words taken as one token, whose weight is its weakest word's."""
        lang = lang or self.lang
        weights = weights or [1.0] * len(found)
        out: list[tuple[str, str, float]] = []
        i = 0
        while i < len(found):
            for size in (3, 2) if found[i] in self.phrase_starts else ():
                phrase = " ".join(found[i : i + size])
                if len(found) - i >= size and phrase in self.phrases:
                    out.append((phrase, self.phrases[phrase], min(weights[i : i + size])))
                    i += size
                    break
            else:
                out.append((found[i], self._token(found[i], lang), weights[i]))
                i += 1
        return out

    def query_tokens(self, query: str) -> dict[str, float]:
        """Each query token with its weight: 1 for a known word, the similarity for a
        corrected typo; unknown words map to themselves and match nothing. Typos are
        corrected before phrases are read, so "codce fiscale" is still the phrase."""
        found: list[str] = []
        similarity: list[float] = []
        corrected: dict[str, str | None] = {}  # a typo's correction -> its token in the corpus
        for word in text.content_words(query, self.lang):
            weight = 1.0
            if (
                self._token(word) not in self.idf
                and word not in self.phrase_words
                and len(word) >= FUZZY_MIN_LENGTH
            ):
                match = process.extractOne(
                    word, self.word_list, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF
                )
                if match is not None:
                    word, weight = match[0], match[1] / 100
                    corrected[word] = self.words.get(word)
            found.append(word)
            similarity.append(weight)
        tokens: dict[str, float] = {}
        for word, token, weight in self._group(found, weights=similarity):
            token = corrected.get(word) or token
            tokens[token] = max(tokens.get(token, 0.0), weight)
        return tokens

    def _postings(self) -> dict[str, _Posting]:
        """Per token, the FAQs that use it with what it earns each of them, so that a query
        touches only the FAQs that share a word with it. Built as arrays too: one BM25 term
        per (field, FAQ, token), summed per pair (FAQ, token) = FAQ * vocabulary + token."""
        n, vocabulary = len(self.docs), len(self.idf)
        ids = {t: i for i, t in enumerate(self.idf)}
        idf = np.array(list(self.idf.values()))
        keys, terms = [], []
        for name, weight in FIELD_WEIGHTS.items():
            counts = [d.fields[name] for d in self.docs]
            doc = np.repeat(np.arange(n), [len(c) for c in counts])
            key = doc * vocabulary + np.array([ids[t] for c in counts for t in c], dtype=np.intp)
            tf = np.array([f for c in counts for f in c.values()], dtype=float)
            length = np.array([d.length[name] for d in self.docs], dtype=float)
            norm = BM25_K1 * (1 - BM25_B + BM25_B * length / self.avg_length[name])
            keys.append(key)
            terms.append(weight * tf * (BM25_K1 + 1) / (tf + norm[doc]))
            if name == "question":
                question_keys = key
        pairs, row = np.unique(np.concatenate(keys), return_inverse=True)
        doc, token = pairs // vocabulary, pairs % vocabulary
        # a word counts fully when the question, a variant or a keyword uses it, and partly
        # when only the answer does
        saturation = np.minimum(1.0, np.bincount(row, np.concatenate(terms)) / (BM25_K1 + 1))
        question_mass = np.bincount(
            question_keys // vocabulary, idf[question_keys % vocabulary], minlength=n
        )
        share = np.where(
            np.isin(pairs, question_keys), idf[token] / np.maximum(question_mass[doc], 1e-9), 0.0
        )
        order = np.argsort(token, kind="stable")
        bounds = np.searchsorted(token[order], np.arange(vocabulary + 1))
        return {
            t: _Posting(doc[order[a:b]], saturation[order[a:b]], share[order[a:b]])
            for t, a, b in zip(self.idf, bounds[:-1], bounds[1:], strict=True)
        }

    def _phrasings(self, said: Sequence[tuple[int, Counter[str]]]) -> _Phrasings:
        """Per token, the phrasings that use it and the share of each one's information
        (IDF mass of its distinct words) it carries."""
        by_token: dict[str, tuple[list[int], list[float]]] = {}
        for index, (_, counter) in enumerate(said):
            mass = sum(self.idf[t] for t in counter) or 1.0
            for token in counter:
                ids, shares = by_token.setdefault(token, ([], []))
                ids.append(index)
                shares.append(self.idf[token] / mass)
        docs = np.array([doc for doc, _ in said], dtype=np.intp)
        return _Phrasings(
            np.searchsorted(docs, np.arange(len(self.docs))),
            len(said),
            {t: (np.array(i, dtype=np.intp), np.array(s)) for t, (i, s) in by_token.items()},
        )

    def evidence(self, weights: dict[str, float], mass: float) -> FloatArray:
        """How strongly the query points at each FAQ: the information (IDF) of the query's
        words that the FAQ uses; plus how much of the FAQ's own question the query covers,
        which lets a long message that contains the question still score; plus the share of
        the query that the FAQ covers, which lets a one-word query score. 0 for a FAQ that
        shares no word with the query."""
        covered = np.zeros(len(self.docs))
        question = np.zeros(len(self.docs))
        for token, weight in weights.items():
            posting = self.postings[token]
            covered[posting.docs] += weight * posting.saturation
            question[posting.docs] += posting.question
        share = covered / (mass or 1.0)
        # how much of its closest phrasing (question or variant) the query says
        said = np.zeros(self.phrasings.count)
        for token in weights:
            found = self.phrasings.postings.get(token)
            if found is not None:
                said[found[0]] += found[1]
        phrasing = np.maximum.reduceat(said, self.phrasings.starts) if len(said) else said
        evidence = (
            covered
            + QUESTION_COVERAGE_WEIGHT * question
            + PHRASING_BONUS * phrasing**PHRASING_POWER
            + QUERY_COVERAGE_WEIGHT * share
            # a short message that the FAQ covers whole ("codice fiscale", "isee") is a
            # strong match even though it carries little information in absolute terms
            + FULL_COVERAGE_BONUS * share**4
        )
        evidence[covered == 0] = 0.0
        return evidence

    def scores(self, query: str, topic: str | None, subtopic: str | None) -> FloatArray:
        """Each FAQ's score 0..100, 0 for those that share nothing with the query."""
        tokens = self.query_tokens(query)
        weights = {t: w * self.idf[t] for t, w in tokens.items() if t in self.idf}
        # Words no FAQ uses ("biblioteca", "wifi") weigh like rare words in the query's total,
        # so a question about something else covers little of what it asks.
        mass = sum(weights.values()) + UNKNOWN_WORD_WEIGHT * self.max_idf * sum(
            w for t, w in tokens.items() if t not in self.idf
        )
        evidence = self.evidence(weights, mass)
        if topic:
            in_topic = (self.topic_of == topic) & (evidence > 0)
            evidence += TOPIC_BONUS * in_topic
            if subtopic:
                evidence += SUBTOPIC_BONUS * (in_topic & (self.subtopic_of == subtopic))
        return np.round(100 * (1 - np.exp(-evidence / EVIDENCE_SCALE)), 1)


def synonym_map(
    groups: Sequence[Sequence[str]], lang: str
) -> tuple[dict[str, str], dict[str, str]]:
    """Every word of a group points at the group's token (its first entry, stemmed), and so
    does every phrase of two or three content words, matched as a whole. An entry written
    "en:fine" counts in English only: in Italian "fine" is the end, not a penalty."""
    words: dict[str, str] = {}
    phrases: dict[str, str] = {}
    for group in groups:
        entries = [
            text.content_words(entry, lang)
            for entry_lang, entry in map(split_language, group)
            if entry_lang in (None, lang)
        ]
        entries = [e for e in entries if e]
        if not entries:
            continue
        head = "~" + "_".join(text.stem(w, lang) for w in entries[0])
        for entry in entries:
            if len(entry) == 1:
                words.setdefault(text.stem(entry[0], lang), head)
            elif len(entry) <= 3:
                phrases.setdefault(" ".join(entry), head)
    return words, phrases


def query_language(query: str, lang: str) -> str:
    """Students in the Italian chat sometimes write English (and the reverse): trust the
    words over the setting when the stop words clearly say otherwise."""
    # a word of both lists ("i", "a", "come"...) says nothing about which one it is
    folded = text.words(query)
    it_words, en_words = text.STOP_WORDS["it"], text.STOP_WORDS["en"]
    it = sum(w in it_words and w not in en_words for w in folded)
    en = sum(w in en_words and w not in it_words for w in folded)
    if lang == "it" and en >= 2 and en > 2 * it:
        return "en"
    if lang == "en" and it >= 2 and it > 2 * en:
        return "it"
    return lang if lang in LANGS else "it"
