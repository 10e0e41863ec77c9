"""bot.i18n: both catalogs say the same things, and every key the code uses exists."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest

from bot import validate
from bot.flow import FLOW, SUMMARY_FIELDS
from bot.i18n import LANGS, _load, has, normalise_lang, t

I18N = Path(__file__).parents[2] / "bot" / "i18n"


def _catalog(lang: str) -> dict[str, str]:
    return _load(lang, I18N)


def test_feature_files_add_to_the_catalog_and_may_not_repeat_a_key(tmp_path: Path) -> None:
    (tmp_path / "it.json").write_text(json.dumps({"a": "uno"}), encoding="utf-8")
    (tmp_path / "it").mkdir()
    (tmp_path / "it" / "extra.json").write_text(json.dumps({"b": "due"}), encoding="utf-8")
    assert _load("it", tmp_path) == {"a": "uno", "b": "due"}
    (tmp_path / "it" / "zz.json").write_text(json.dumps({"a": "altro"}), encoding="utf-8")
    with pytest.raises(ValueError, match="zz.json: keys already defined elsewhere: a"):
        _load("it", tmp_path)


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_both_catalogs_have_the_same_keys_and_placeholders() -> None:
    italian, english = _catalog("it"), _catalog("en")
    assert sorted(italian) == sorted(english)
    for key, text in italian.items():
        assert _placeholders(text) == _placeholders(english[key]), key


@pytest.mark.parametrize("lang", LANGS)
def test_no_text_is_empty_or_padded(lang: str) -> None:
    for key, text in _catalog(lang).items():
        assert text.strip() == text and text, key


def test_t_fills_placeholders() -> None:
    italian = t("ticket.created", "it", number="000412")
    assert italian == "Il tuo ticket è stato aperto. Numero: 000412"
    english = t("ticket.created", "en", number="000412")
    assert english == "Your ticket has been opened. Number: 000412"


def test_t_falls_back_to_italian_then_to_the_key() -> None:
    assert t("status.open", "fr") == "Aperto"
    assert t("no.such.key", "en") == "no.such.key"
    # a placeholder nobody filled stays visible instead of failing in front of a student
    assert t("ticket.created", "it") == "Il tuo ticket è stato aperto. Numero: {number}"


def test_languages() -> None:
    assert LANGS == ("it", "en")
    assert normalise_lang("en-GB") == "en"
    assert normalise_lang("EN") == "en"
    assert normalise_lang("de") == "it"
    assert normalise_lang(None) == "it"


def test_every_key_of_the_flow_exists() -> None:
    keys: set[str] = set()
    for spec in FLOW.values():
        keys |= {k for k in (spec.ask, spec.placeholder) if k}
        keys |= {f"option.{o}" for o in spec.options}
    keys |= {f"field.{name}" for name in SUMMARY_FIELDS}
    keys |= {"option.keep", "option.lang.it", "option.lang.en", "field.references"}
    assert sorted(k for k in keys if not has(k)) == []


def test_every_error_a_validator_or_the_web_layer_can_give_has_a_text() -> None:
    web = I18N.parents[1] / "web"
    source = "\n".join(
        p.read_text(encoding="utf-8") for p in [Path(validate.__file__), *web.rglob("*.py")]
    )
    keys = set(re.findall(r'"(wrong_[a-z_]+\.[a-z_]+)"', source))
    assert len(keys) > 30
    assert sorted(k for k in keys if not has(k)) == []


def test_every_key_the_dialogue_says_exists() -> None:
    # Every module of bot/, so that a part moved out of the engine stays checked.
    source = "\n".join(p.read_text(encoding="utf-8") for p in sorted(I18N.parent.glob("*.py")))
    said = set(re.findall(r'\bsay\(\s*"([^"]+)"', source))
    said |= set(re.findall(r'\bt\(\s*"([^"]+)"', source))
    assert len(said) > 20, "the dialogue says things by key"
    assert sorted(k for k in said if not has(k)) == []


def test_the_web_layer_texts_exist() -> None:
    for code in (
        "validation_failed", "not_found", "unauthorized", "forbidden", "csrf", "too_large",
        "unsupported_type", "rate_limited", "ticket_closed", "lookup_failed", "conflict",
    ):
        assert has(f"error.{code}"), code
    assert "{minutes}" in _catalog("it")["error.rate_limited"]
    assert "{seconds}" in _catalog("it")["error.rate_limited_seconds"]
    assert "2 MB" in t("error.too_large", "it")
    assert all(kind in t("error.unsupported_type", "it") for kind in ("PDF", "PNG", "JPEG"))
    assert t("status.open", "it") == "Aperto"
    assert t("status.awaiting_user", "it") == "In attesa di risposta utente"
    assert t("status.closed", "it") == "Chiuso"
    for status in ("open", "awaiting_user", "closed"):
        assert has(f"status_help.{status}")

