"""FaqIndex: the FAQ corpus, searchable (CONTRACT.md section 6).

A message is scored against every FAQ by bot.scoring; bot.confidence says how sure the best
score lets the assistant be (decide). `python -m bot.faq` is the editors' command line
(bot.faq_cli).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np

from bot.confidence import CONFIDENCE, Decision, Match
from bot.corpus import (
    LANGS,
    Corpus,
    Faq,
    Link,
    Subtopic,
    Topic,
    load_corpus,
    load_synonyms,
)
from bot.problems import CorpusError, Problem
from bot.replies import Reply, load_replies
from bot.scoring import FloatArray, LangIndex, query_language, synonym_map

__all__ = [
    "Corpus",
    "CorpusError",
    "Decision",
    "Faq",
    "FaqIndex",
    "Link",
    "Match",
    "Problem",
    "Subtopic",
    "Topic",
    "validate_directory",
]

T = TypeVar("T")

# Words that mean the same to students whatever the corpus: shipped with the engine.
GENERAL_SYNONYMS = load_synonyms(Path(__file__).with_name("data"))


class FaqIndex:
    def __init__(
        self,
        corpus: Corpus,
        synonym_groups: Sequence[Sequence[str]] = (),
        replies: Sequence[Reply] = (),
    ) -> None:
        self.topics: list[Topic] = list(corpus.topics)
        # the office's ready texts (bot.replies), for the console: no part of the search
        self.replies: tuple[Reply, ...] = tuple(replies)
        self.faqs: list[Faq] = list(corpus.faqs)
        self._by_id = {f.id: f for f in self.faqs}
        self._topics = {t.id: t for t in self.topics}
        self._langs = {
            lang: LangIndex(self.faqs, lang, synonym_map(synonym_groups, lang)) for lang in LANGS
        }

    @classmethod
    def from_directory(cls, path: Path | str) -> FaqIndex:
        """Load a corpus folder, with its office texts; raises CorpusError listing every
        problem. The engine's general synonyms come first, the corpus's own after them."""
        root = Path(path)
        problems: list[Problem] = []

        def loaded(load: Callable[[Path], T]) -> T | None:
            # every file kind is read, so that one fix-up pass mends them all
            try:
                return load(root)
            except CorpusError as exc:
                problems.extend(exc.problems)
                return None

        corpus, synonyms, replies = loaded(load_corpus), loaded(load_synonyms), loaded(load_replies)
        if corpus is None or synonyms is None or replies is None:
            raise CorpusError(problems)
        return cls(corpus, [*GENERAL_SYNONYMS, *synonyms], replies)

    def topic(self, topic_id: str) -> Topic | None:
        return self._topics.get(topic_id)

    def get(self, faq_id: str) -> Faq | None:
        return self._by_id.get(faq_id)

    def labels(self, topic_id: str, subtopic_id: str, lang: str) -> tuple[str, str]:
        """The topic's and subtopic's labels in `lang`; an id the corpus no longer has (an
        old ticket after an edit) shows as itself."""
        topic = self._topics.get(topic_id)
        subtopic = topic.subtopic(subtopic_id) if topic else None
        return (
            topic.label_in(lang) if topic else topic_id,
            subtopic.label_in(lang) if subtopic else subtopic_id,
        )

    def search(
        self,
        query: str,
        lang: str = "it",
        topic: str | None = None,
        subtopic: str | None = None,
        limit: int = 3,
    ) -> list[Match]:
        """The best matches worth showing; [] when nothing is relevant enough (the bands
        "middle" and "none" of `decide`)."""
        decision = self.decide(query, lang, topic, subtopic, limit)
        return list(decision.matches) if decision.band == "confident" else []

    def decide(
        self,
        query: str,
        lang: str = "it",
        topic: str | None = None,
        subtopic: str | None = None,
        limit: int = 3,
    ) -> Decision:
        """How sure the index is that a FAQ answers `query`, in three bands:

        - "confident": `matches` answer the message; they are exactly what `search` returns.
        - "middle": one of `matches` may help, but the index is not sure. The dialogue shows
          them hedged ("Forse una di queste risposte ti aiuta") with the ticket button beside
          them, instead of asserting an answer or showing nothing.
        - "none": nothing is relevant enough (`matches` is empty): offer a ticket.

        The dialogue (bot.suggest) shows each band in its own step, and every FAQ event names
        the band, which the editors' report counts per FAQ. `confidence` is the estimated
        chance that one of `matches` is the right FAQ, calibrated on labelled questions
        (bot/data/confidence.json)."""
        index, scores = self._scores(query, lang, topic, subtopic)
        return CONFIDENCE.decide(self._best(index, scores, limit))

    def search_ranked(
        self, query: str, lang: str = "it", topic: str | None = None, subtopic: str | None = None
    ) -> list[Match]:
        """Every FAQ that shares anything with the query, best first, with no threshold."""
        index, scores = self._scores(query, lang, topic, subtopic)
        return self._best(index, scores, len(index.docs))

    def _scores(
        self, query: str, lang: str, topic: str | None, subtopic: str | None
    ) -> tuple[LangIndex, FloatArray]:
        index = self._langs.get(query_language(query, lang), self._langs["it"])
        return index, index.scores(query, topic, subtopic)

    @staticmethod
    def _best(index: LangIndex, scores: FloatArray, limit: int) -> list[Match]:
        """The `limit` best-scored FAQs, best first; ties in corpus order."""
        found = np.flatnonzero(scores > 0)
        if len(found) > limit:
            # the cut-off score, so that every FAQ tied with the last one kept stays in the sort
            cut = np.partition(scores[found], len(found) - limit)[len(found) - limit]
            found = found[scores[found] >= cut]
        order = found[np.argsort(-scores[found], kind="stable")][:limit]
        return [Match(index.docs[i].faq.id, float(scores[i])) for i in order]


def validate_directory(path: Path) -> list[Problem]:
    """Every problem of a corpus folder, synonyms and office texts included; [] when it is
    valid."""
    try:
        FaqIndex.from_directory(path)
    except CorpusError as exc:
        return list(exc.problems)
    return []


if __name__ == "__main__":
    from bot.faq_cli import main

    sys.exit(main(sys.argv[1:]))
