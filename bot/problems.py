"""How a problem of the FAQ corpus is told to the editors who write it: one line each,
`file: faq-id: field: what is wrong` (CONTRACT.md section 1), saying in plain Italian (or
English) what is wrong and what to do about it. The texts are bot/i18n/*/corpus.json.

Checking collects every problem instead of stopping at the first, because an editor fixes a
file in one pass.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any

from bot.i18n import DEFAULT_LANG, LANGS, t


@dataclass(frozen=True)
class Problem:
    """One problem; its text says what is wrong and what to do, in Italian for the editors
    (str()) or in English (line("en")), from bot/i18n/*/corpus.json."""

    file: str
    item: str  # the FAQ or topic id, "-" when the problem is with the whole file
    field: str
    key: str  # corpus.* in bot/i18n
    params: Mapping[str, object] = dataclass_field(default_factory=dict, hash=False)

    def message(self, lang: str = DEFAULT_LANG) -> str:
        return t(self.key, lang, **self.params)

    def line(self, lang: str = DEFAULT_LANG) -> str:
        """`file: faq-id: field: what is wrong` (CONTRACT.md section 1)."""
        return f"{self.file}: {self.item}: {self.field}: {self.message(lang)}"

    def __str__(self) -> str:
        return self.line()


class CorpusError(ValueError):
    """An invalid corpus; str() lists every problem, one a line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, file: str, item: str, field: str, key: str, **params: object) -> None:
        self.problems.append(Problem(file, item, field, f"corpus.{key}", params))

    def unknown_fields(
        self, file: str, item: str, keys: Iterable[str], known: tuple[str, ...]
    ) -> None:
        """A field name outside `known`, named with the known one it was likely meant to be
        ("keyword": "keywords")."""
        for key in sorted(set(keys) - set(known)):
            like = difflib.get_close_matches(key, known, n=1, cutoff=0.7)
            if like:
                self.add(file, item, key, "unknown_field_like", like=like[0])
            else:
                self.add(file, item, key, "unknown_field", fields=", ".join(known))

    def texts(
        self, file: str, item: str, field: str, value: Any, *, required: bool
    ) -> dict[str, str]:
        """A {lang: text} mapping; Italian is always required, English never is."""
        if value is None:
            if required:
                self.add(file, item, field, "missing")
            return {}
        if not isinstance(value, dict):
            self.add(file, item, field, "texts_object")
            return {}
        out: dict[str, str] = {}
        for lang, text in value.items():
            if lang not in LANGS:
                self.add(file, item, f"{field}.{lang}", "unknown_language")
            elif not isinstance(text, str) or not text.strip():
                self.add(file, item, f"{field}.{lang}", "empty_text")
            else:
                out[lang] = text.strip()
        # Unless this very text's Italian was already named (empty): another FAQ's is no reason.
        said = {(p.file, p.item, p.field) for p in self.problems}
        if required and "it" not in out and (file, item, f"{field}.it") not in said:
            self.add(file, item, f"{field}.it", "italian_missing")
        return out

    def strings(self, file: str, item: str, field: str, value: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.add(file, item, field, "strings_list")
            return ()
        if any(not v.strip() for v in value):
            self.add(file, item, field, "empty_in_list")
        return tuple(v.strip() for v in value if v.strip())


# Python's words for the mistakes editors make, and the message that says what to do about
# each; any other keeps Python's own words (corpus.json.other).
JSON_MISTAKES = {
    "Expecting ',' delimiter": "comma",
    "Expecting property name enclosed in double quotes": "property",
    "Expecting value": "value",
    "Expecting ':' delimiter": "colon",
    "Extra data": "extra",
    "Unterminated string starting at": "unterminated",
    "Invalid control character at": "control",
}


def load_json(path: Path, root: Path, checker: Checker) -> Any:
    name = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    try:
        # utf-8-sig: Windows editors (Notepad) start a saved file with a BOM the editor never sees
        content = path.read_text(encoding="utf-8-sig")
        if not content.strip():
            checker.add(name, "-", "-", "empty_file")
            return None
        return json.loads(content)
    except FileNotFoundError:
        checker.add(name, "-", "-", "file_missing")
    except IsADirectoryError:
        checker.add(name, "-", "-", "folder_not_file")
    except PermissionError:
        checker.add(name, "-", "-", "unreadable")
    except UnicodeDecodeError:
        checker.add(name, "-", "-", "not_utf8")
    except json.JSONDecodeError as exc:
        # an edit cut short (the end deleted, a save interrupted) fails wherever Python stopped
        ends = exc.pos >= len(content.rstrip())
        mistake = "truncated" if ends else JSON_MISTAKES.get(exc.msg, "other")
        checker.add(
            name, "-", "-", f"json.{mistake}", line=exc.lineno, column=exc.colno, reason=exc.msg
        )
    return None
