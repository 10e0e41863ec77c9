"""The FAQ report tells editors what the server serves and which change it refused
(`corpus`): a real server on a private copy of faq_data/, edited while it runs."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.faq import validate_directory
from tests.conftest import Server, make_config, start_server
from tests.web.conftest import ELENA, Console, create_account

FEES = Path("faq") / "tasse-pagamenti.json"


async def editor(server: Server, lang: str | None = None) -> Console:
    await create_account(server, ELENA)
    console = Console(server, lang)
    status, body = await console.login(ELENA)
    assert status == 200, body
    return console


async def corpus_state(console: Console) -> dict[str, Any]:
    status, body = await console.get("/api/console/faq-report", days="7")
    assert status == 200, body
    state: dict[str, Any] = body["corpus"]
    return state


async def until(console: Console, refused: bool) -> dict[str, Any]:
    """The state once the server has reloaded the folder (it polls every 0.2 s in tests)."""
    for _ in range(100):
        state = await corpus_state(console)
        if (state["refused"] is not None) == refused:
            return state
        await asyncio.sleep(0.05)
    raise AssertionError(f"the server did not reload: {state}")


def shipped_faqs(faq_dir: Path) -> int:
    return sum(len(json.loads(p.read_text())["faqs"]) for p in (faq_dir / "faq").glob("*.json"))


def break_comma(text: str) -> str:
    """The file with the comma after its first FAQ's id removed, as an editor's slip."""
    at = text.index('",', text.index('"id"'))
    return text[: at + 1] + text[at + 2 :]


async def test_a_refused_edit_is_told_with_the_validator_s_lines_until_it_is_fixed(
    faq_server: Server, faq_dir: Path
) -> None:
    elena = await editor(faq_server)
    english = Console(faq_server, "en")
    await english.login(ELENA)
    try:
        before = await corpus_state(elena)
        assert before["refused"] is None
        assert before["faqs"] == shipped_faqs(faq_dir)
        loaded = datetime.fromisoformat(before["loaded_at"])
        assert timedelta(0) <= datetime.now(UTC) - loaded < timedelta(minutes=1)

        # two slips in two kinds of file: both are named, as the validator names them
        good = (faq_dir / FEES).read_text()
        (faq_dir / FEES).write_text(break_comma(good))
        texts = json.loads((faq_dir / "replies.json").read_text())
        texts["replies"][0]["titolo"] = "x"
        (faq_dir / "replies.json").write_text(json.dumps(texts))
        state = await until(elena, refused=True)
        lines = state["refused"]["problems"]
        assert lines == [str(p) for p in validate_directory(faq_dir)]
        assert len(lines) == 2
        assert lines[0].startswith(
            "faq/tasse-pagamenti.json: -: -: JSON non valido alla riga "
        ) and lines[0].endswith(": manca una virgola (spesso alla fine della riga prima)")
        assert lines[1].startswith("replies.json: ") and ": titolo: campo sconosciuto" in lines[1]
        # the previous version stays online, and says since when
        assert state["faqs"] == before["faqs"] and state["loaded_at"] == before["loaded_at"]
        assert datetime.fromisoformat(state["refused"]["at"]) >= loaded
        # in the reader's language
        assert (await corpus_state(english))["refused"]["problems"] == [
            p.line("en") for p in validate_directory(faq_dir)
        ]

        # fixed: the new version goes live and the refusal is gone
        (faq_dir / FEES).write_text(good)
        del texts["replies"][0]["titolo"]
        (faq_dir / "replies.json").write_text(json.dumps(texts))
        after = await until(elena, refused=False)
        assert after["faqs"] == before["faqs"]
        assert datetime.fromisoformat(after["loaded_at"]) >= datetime.fromisoformat(
            state["refused"]["at"]
        )
    finally:
        await elena.close()
        await english.close()


async def test_a_restart_on_a_broken_folder_tells_the_refusal_and_the_copy_in_use(
    data_dir: Path, faq_dir: Path
) -> None:
    first = await start_server(make_config(data_dir, faq_dir=faq_dir))
    await first.stop()
    kept = json.loads((data_dir / "faq-last-good.json").read_text())["saved_at"]
    count = shipped_faqs(faq_dir)
    (faq_dir / FEES).write_text('{"faqs": [')
    server = await start_server(make_config(data_dir, faq_dir=faq_dir))
    elena = await editor(server)
    try:
        state = await corpus_state(elena)
        assert state["faqs"] == count  # the copy's, the fees' FAQs included
        assert state["loaded_at"] == kept
        assert state["refused"]["problems"] == [
            "faq/tasse-pagamenti.json: -: -: JSON non valido alla riga 1, colonna 11: il file"
            " finisce a metà, manca la chiusura (per esempio ] e }): forse la fine è stata"
            " cancellata per sbaglio"
        ]
    finally:
        await elena.close()
        await server.stop()
