"""The texts the help desk says, in Italian and English, by key: it.json and en.json, plus one
file per feature in it/ and en/ (it/privacy.json...), so that features grow apart.

A missing English text falls back to Italian, a missing key to the key itself, so a gap shows
up as a visible key rather than an exception in front of a student.
"""

from __future__ import annotations

import json
from pathlib import Path

LANGS = ("it", "en")
DEFAULT_LANG = "it"


HERE = Path(__file__).parent


def _load(lang: str, folder: Path = HERE) -> dict[str, str]:
    texts: dict[str, str] = {}
    for path in [folder / f"{lang}.json", *sorted((folder / lang).glob("*.json"))]:
        data = json.loads(path.read_text(encoding="utf-8"))
        clash = sorted(set(data) & set(texts))
        if clash:
            # Two files saying the same key: whichever loaded last would win, silently.
            raise ValueError(f"{path.name}: keys already defined elsewhere: {', '.join(clash)}")
        texts.update({str(k): str(v) for k, v in data.items()})
    return texts


_CATALOGS: dict[str, dict[str, str]] = {lang: _load(lang) for lang in LANGS}


class _Params(dict[str, object]):
    def __missing__(self, key: str) -> str:
        # A placeholder nobody filled stays visible instead of raising KeyError.
        return "{" + key + "}"


def t(key: str, lang: str, **params: object) -> str:
    """The text of `key` in `lang`, with its {placeholders} filled from `params`."""
    text = _CATALOGS.get(lang, {}).get(key) or _CATALOGS[DEFAULT_LANG].get(key)
    if text is None:
        return key
    return text.format_map(_Params(params))


def has(key: str) -> bool:
    return key in _CATALOGS[DEFAULT_LANG]


def normalise_lang(lang: str | None) -> str:
    """One of LANGS: 'en', 'en-GB', 'EN' -> 'en'; anything else -> 'it'."""
    code = (lang or "").strip().lower()[:2]
    return code if code in LANGS else DEFAULT_LANG
