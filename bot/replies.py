"""The office's own ready texts (faq_data/replies.json): what operators write again and again
and no FAQ answers ("Ci invii una copia della ricevuta di pagamento..."), kept by the editors
beside the FAQ and offered in the console with the FAQ answers. Never shown to students by the
assistant: only an operator inserts one, and edits it, in a reply.

Optional, like synonyms.json: a corpus without the file has none. Checked like the FAQ: every
problem at once, each naming the file, the text and the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot import text
from bot.corpus import ID_PATTERN, in_lang
from bot.problems import Checker, CorpusError, load_json

FILE = "replies.json"
FIELDS = ("id", "title", "text")
TITLE_MAX = 120
TEXT_MAX = 4000  # a reply's own limit (bot/validate.py MESSAGE_MAX)


@dataclass(frozen=True)
class Reply:
    id: str
    title: dict[str, str]  # {lang: text}, Italian always
    text: dict[str, str]

    def title_in(self, lang: str) -> str:
        return in_lang(self.title, lang)

    def text_in(self, lang: str) -> str:
        return in_lang(self.text, lang)


def load_replies(root: Path) -> tuple[Reply, ...]:
    """The ready texts of a corpus folder; CorpusError listing every problem."""
    path = root / FILE
    if not path.exists():
        return ()
    checker = Checker()
    data = load_json(path, root, checker)
    items = data.get("replies") if isinstance(data, dict) else None
    if data is not None and not isinstance(items, list):
        checker.add(FILE, "-", "replies", "key_list", name="replies")
    replies: list[Reply] = []
    seen: set[str] = set()
    for position, item in enumerate(items if isinstance(items, list) else [], start=1):
        if not isinstance(item, dict):
            checker.add(FILE, f"#{position}", "-", "reply_object")
            continue
        rid = item.get("id")
        name = rid if isinstance(rid, str) and rid else f"#{position}"
        if not isinstance(rid, str) or not ID_PATTERN.fullmatch(rid):
            checker.add(FILE, name, "id", "reply_id")
        elif rid in seen:
            checker.add(FILE, name, "id", "reply_duplicate")
        seen.add(name)
        checker.unknown_fields(FILE, name, item, FIELDS)
        title = checker.texts(FILE, name, "title", item.get("title"), required=True)
        body = checker.texts(FILE, name, "text", item.get("text"), required=True)
        for field, texts, limit in (("title", title, TITLE_MAX), ("text", body, TEXT_MAX)):
            for lang, value in texts.items():
                if len(value) > limit:
                    checker.add(FILE, name, f"{field}.{lang}", "too_long", limit=limit)
        if "it" in title and "it" in body:
            replies.append(Reply(name, title, body))
    if checker.problems:
        raise CorpusError(checker.problems)
    return tuple(replies)


def find(replies: Sequence[Reply], query: str, lang: str) -> list[Reply]:
    """The texts whose title or text, in `lang`, holds every word of the query, whole or as
    the start of a longer one ("ricev" finds "ricevuta"), in any case, accents and order;
    every text, in the file's order, for an empty query."""
    words = text.words(query)
    return [
        r
        for r in replies
        if all(
            f" {w}" in " " + " ".join(text.words(f"{r.title_in(lang)} {r.text_in(lang)}"))
            for w in words
        )
    ]
