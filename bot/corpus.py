"""The FAQ corpus that content editors write (CONTRACT.md section 6): reading and checking it.

Checking collects every problem instead of stopping at the first, because an editor fixes a
file in one pass; each problem names the file, the FAQ and the field (bot.problems).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.problems import Checker, CorpusError, Problem, load_json

LANGS = ("it", "en")
# A synonym that applies to one language only: "en:fine".
_LANGUAGE_TAG = re.compile(r"^([a-z]{2}):\s*(.+)$")
ID_PATTERN = re.compile(r"[a-z0-9-]+")
# The desk's first purpose: its topic comes first in the chat (CONTRACT.md section 3).
ENROLMENT = "immatricolazioni"
FAQ_FIELDS = ("id", "topic", "subtopic", "question", "answer", "variants", "keywords", "links")


def in_lang(texts: Mapping[str, str], lang: str) -> str:
    """The text in `lang`, else the Italian one (always written), for every {lang: text}."""
    return texts.get(lang) or texts.get("it") or next(iter(texts.values()), "")


@dataclass(frozen=True)
class Subtopic:
    id: str
    label: Mapping[str, str]

    def label_in(self, lang: str) -> str:
        return in_lang(self.label, lang)


@dataclass(frozen=True)
class Topic:
    id: str
    label: Mapping[str, str]
    subtopics: tuple[Subtopic, ...]

    def label_in(self, lang: str) -> str:
        return in_lang(self.label, lang)

    def subtopic(self, subtopic_id: str) -> Subtopic | None:
        return next((s for s in self.subtopics if s.id == subtopic_id), None)


@dataclass(frozen=True)
class Link:
    label: Mapping[str, str]
    url: str

    def label_in(self, lang: str) -> str:
        return in_lang(self.label, lang)


@dataclass(frozen=True)
class Faq:
    id: str
    topic: str
    subtopic: str
    question: Mapping[str, str]
    answer: Mapping[str, str]
    variants: Mapping[str, tuple[str, ...]]
    keywords: tuple[str, ...]
    links: tuple[Link, ...]
    source: str  # the file it came from, for editors' messages

    def question_in(self, lang: str) -> str:
        return in_lang(self.question, lang)

    def answer_in(self, lang: str) -> str:
        return in_lang(self.answer, lang)


@dataclass(frozen=True)
class Corpus:
    topics: tuple[Topic, ...]
    faqs: tuple[Faq, ...]


def _read_topics(root: Path, checker: Checker) -> tuple[Topic, ...]:
    data = load_json(root / "topics.json", root, checker)
    if data is None:
        return ()
    if not isinstance(data, dict) or not isinstance(data.get("topics"), list):
        checker.add("topics.json", "-", "topics", "key_list", name="topics")
        return ()
    topics: list[Topic] = []
    seen: set[str] = set()
    for position, raw in enumerate(data["topics"], 1):
        if not isinstance(raw, dict):
            checker.add("topics.json", f"#{position}", "-", "object")
            continue
        tid = raw.get("id")
        item = tid if isinstance(tid, str) else f"#{position}"
        if not isinstance(tid, str) or not ID_PATTERN.fullmatch(tid):
            checker.add("topics.json", item, "id", "bad_id")
            continue
        if tid in seen:
            checker.add("topics.json", tid, "id", "duplicate_topic")
        seen.add(tid)
        label = checker.texts("topics.json", tid, "label", raw.get("label"), required=True)
        subtopics: list[Subtopic] = []
        sub_seen: set[str] = set()
        raw_subs = raw.get("subtopics", [])
        if not isinstance(raw_subs, list) or not raw_subs:
            checker.add("topics.json", tid, "subtopics", "no_subtopics")
            raw_subs = []
        for sub in raw_subs:
            sid = sub.get("id") if isinstance(sub, dict) else None
            if not isinstance(sid, str) or not ID_PATTERN.fullmatch(sid):
                checker.add("topics.json", tid, "subtopics.id", "bad_id")
                continue
            if sid in sub_seen:
                checker.add("topics.json", tid, f"subtopics.{sid}", "duplicate_subtopic")
            sub_seen.add(sid)
            sub_label = checker.texts(
                "topics.json", tid, f"subtopics.{sid}.label", sub.get("label"), required=True
            )
            subtopics.append(Subtopic(sid, sub_label))
        topics.append(Topic(tid, label, tuple(subtopics)))
    if topics and topics[0].id != ENROLMENT:
        # the chat offers the topics in this order, and enrolment is the desk's first purpose
        checker.add("topics.json", topics[0].id, "-", "enrolment_first", enrolment=ENROLMENT)
    return tuple(topics)


def _valid_url(url: Any) -> bool:
    if not isinstance(url, str) or any(c.isspace() for c in url):
        return False
    parts = urlsplit(url)
    # https only: a link students follow from the university's help desk must not downgrade
    return parts.scheme == "https" and "." in parts.netloc


def _read_faq(
    raw: Any, position: int, name: str, topics: Mapping[str, Topic], checker: Checker
) -> Faq | None:
    if not isinstance(raw, dict):
        checker.add(name, f"#{position}", "-", "object")
        return None
    fid = raw.get("id")
    item = fid if isinstance(fid, str) and fid else f"#{position}"
    if not isinstance(fid, str) or not ID_PATTERN.fullmatch(fid):
        checker.add(name, item, "id", "bad_id")
    before = len(checker.problems)
    topic_id, subtopic_id = raw.get("topic"), raw.get("subtopic")
    topic = topics.get(topic_id) if isinstance(topic_id, str) else None
    if topic_id is None:
        checker.add(name, item, "topic", "missing")
    elif topic is None:
        checker.add(name, item, "topic", "unknown_topic", topic=repr(topic_id))
    if subtopic_id is None:
        checker.add(name, item, "subtopic", "missing")
    elif topic is not None and (
        not isinstance(subtopic_id, str) or topic.subtopic(subtopic_id) is None
    ):
        checker.add(
            name, item, "subtopic", "unknown_subtopic",
            subtopic=repr(subtopic_id), topic=repr(topic_id),
        )
    question = checker.texts(name, item, "question", raw.get("question"), required=True)
    answer = checker.texts(name, item, "answer", raw.get("answer"), required=True)
    variants: dict[str, tuple[str, ...]] = {}
    raw_variants = raw.get("variants")
    if raw_variants is not None and not isinstance(raw_variants, dict):
        checker.add(name, item, "variants", "variants_object")
    elif raw_variants:
        for lang, texts in raw_variants.items():
            if lang not in LANGS:
                checker.add(name, item, f"variants.{lang}", "unknown_language")
                continue
            variants[lang] = checker.strings(name, item, f"variants.{lang}", texts)
    keywords = checker.strings(name, item, "keywords", raw.get("keywords"))
    links: list[Link] = []
    raw_links = raw.get("links")
    if raw_links is not None and not isinstance(raw_links, list):
        checker.add(name, item, "links", "list")
        raw_links = []
    for n, link in enumerate(raw_links or [], 1):
        if not isinstance(link, dict):
            checker.add(name, item, f"links.{n}", "link_object")
            continue
        if not _valid_url(link.get("url")):
            checker.add(name, item, f"links.{n}.url", "bad_url", url=repr(link.get("url")))
        label = checker.texts(name, item, f"links.{n}.label", link.get("label"), required=True)
        links.append(Link(label, str(link.get("url", ""))))
    checker.unknown_fields(name, item, raw, FAQ_FIELDS)
    if len(checker.problems) > before or not isinstance(fid, str):
        return None
    return Faq(
        id=fid,
        topic=str(topic_id),
        subtopic=str(subtopic_id),
        question=question,
        answer=answer,
        variants=variants,
        keywords=keywords,
        links=tuple(links),
        source=name,
    )


def check_corpus(root: Path) -> tuple[Corpus, list[Problem]]:
    """Read a corpus folder; return what could be read and every problem found."""
    checker = Checker()
    if not root.is_dir():
        checker.add(str(root), "-", "-", "not_a_folder")
        return Corpus((), ()), checker.problems
    topics = _read_topics(root, checker)
    by_id = {t.id: t for t in topics}
    faqs: list[Faq] = []
    seen: dict[str, tuple[str, int]] = {}  # id -> where it first was: file, position
    faq_dir = root / "faq"
    files = sorted(faq_dir.glob("*.json")) if faq_dir.is_dir() else []
    if not files:
        checker.add("faq/", "-", "-", "no_faq_files")
    for path in files:
        name = str(path.relative_to(root))
        data = load_json(path, root, checker)
        if data is None:
            continue
        if not isinstance(data, dict) or not isinstance(data.get("faqs"), list):
            checker.add(name, "-", "faqs", "key_list", name="faqs")
            continue
        for position, raw in enumerate(data["faqs"], 1):
            fid = raw.get("id") if isinstance(raw, dict) else None
            if isinstance(fid, str) and fid in seen:
                file, first = seen[fid]
                if file == name:
                    checker.add(name, fid, "id", "duplicate_faq_here", position=first)
                else:
                    checker.add(name, fid, "id", "duplicate_faq_elsewhere", other=file)
                continue
            if isinstance(fid, str):
                seen[fid] = (name, position)
            faq = _read_faq(raw, position, name, by_id, checker)
            if faq is not None:
                faqs.append(faq)
    return Corpus(topics, tuple(faqs)), checker.problems


def load_corpus(root: Path) -> Corpus:
    corpus, problems = check_corpus(root)
    if problems:
        raise CorpusError(problems)
    return corpus


def load_synonyms(root: Path) -> list[list[str]]:
    """Groups of words that mean the same thing to students (faq_data/synonyms.json).
    Optional: a corpus without the file simply has no synonyms."""
    path = root / "synonyms.json"
    if not path.exists():
        return []
    checker = Checker()
    data = load_json(path, root, checker)
    if checker.problems:
        raise CorpusError(checker.problems)
    groups = data.get("groups") if isinstance(data, dict) else None
    if not isinstance(groups, list) or not all(
        isinstance(g, list) and all(isinstance(w, str) and w.strip() for w in g) for g in groups
    ):
        raise CorpusError([Problem("synonyms.json", "-", "groups", "corpus.synonym_groups")])
    cleaned = [[w.strip() for w in g] for g in groups]
    problems = [
        Problem("synonyms.json", "-", "groups", "corpus.synonym_language", {"entry": repr(entry)})
        for group in cleaned
        for entry in group
        if (tagged := _LANGUAGE_TAG.match(entry)) and tagged.group(1) not in LANGS
    ]
    if problems:
        raise CorpusError(problems)
    return cleaned


def split_language(entry: str) -> tuple[str | None, str]:
    """("en", "fine") for an entry that applies to one language only, (None, entry) for one
    that applies to both."""
    tagged = _LANGUAGE_TAG.match(entry)
    if tagged and tagged.group(1) in LANGS:
        return tagged.group(1), tagged.group(2)
    return None, entry
