"""The student's side of privacy on the real server: the notice, where it is linked, and the
download of everything kept about them."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import aiohttp

from storage import Message, Ticket
from tests.conftest import Server, make_config, start_server
from tests.web.privacy_scenario import EMAIL, PDF, PNG, spread_student_data
from web.desk import notify


async def fetch(server: Server, path: str, token: str | None = None) -> tuple[int, Any, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http, http.get(
        f"{server.url}{path}", headers=headers
    ) as response:
        body = await response.read()
        return response.status, response.headers, body


async def test_the_notice_says_who_what_why_how_long_and_the_rights(data_dir: Path) -> None:
    server = await start_server(
        make_config(data_dir, retention_days=365, dpo_contact="rpd@unipg.example")
    )
    try:
        status, headers, body = await fetch(server, "/privacy")
        page = body.decode()
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        for said in (
            "Informativa sul trattamento dei dati personali",
            "Università degli Studi di Perugia",
            "rpd@unipg.example",
            "per 365 giorni dall&#39;ultima attività",
            "dopo 30 giorni",
            "Scarica i tuoi dati",
            "Garante per la protezione dei dati personali",
            '<html lang="it">',
        ):
            assert said in page, said
        status, _, body = await fetch(server, "/privacy?lang=en")
        page = body.decode()
        assert status == 200
        for said in ("Privacy notice", "for 365 days after its last activity",
                     "Download your data", "rpd@unipg.example", '<html lang="en">'):
            assert said in page, said
    finally:
        await server.stop()


async def test_without_a_dpo_contact_the_notice_says_it_is_missing(server: Server) -> None:
    _, _, body = await fetch(server, "/privacy")
    assert "[recapito del Responsabile della protezione dei dati: da indicare" in body.decode()
    assert "per 730 giorni" in body.decode()


async def test_every_page_links_the_notice(server: Server) -> None:
    for path, link in (
        ("/ticket", 'href="/privacy"'), ("/ticket?lang=en", 'href="/privacy?lang=en"'),
        ("/", 'href="/privacy"'), ("/faq", 'href="/privacy"'),
    ):
        _, _, body = await fetch(server, path)
        assert link in body.decode(), path


def test_every_mail_links_the_notice() -> None:
    ticket = Ticket(number="000412", email="m@example.org", name="Rossi Mario", phone="+39333",
                    topic="t", subtopic="s", lang="en",
                    messages=[Message(id="1", author="student", name="R", body="x")])
    for kind, lang in (("opened", "it"), ("closed", "en")):
        ticket.lang = lang
        mail = notify.compose(kind, ticket, public_url="https://desk.unipg.test/")
        link = "https://desk.unipg.test/privacy" + ("?lang=en" if lang == "en" else "")
        assert link in mail.text and f'href="{link}"' in mail.html


async def test_the_export_holds_the_tokens_ticket_and_no_internal_note(
    either_server: Server,
) -> None:
    server = either_server  # the files come from the folder, or from the database
    seen = await spread_student_data(server)

    status, headers, body = await fetch(
        server, f"/api/tickets/{seen.chat_number}/export", seen.chat_token
    )

    assert status == 200
    assert headers["Content-Disposition"] == (
        f'attachment; filename="dati-personali-{seen.chat_number}.json"'
    )
    assert headers["Cache-Control"] == "no-store"
    data = json.loads(body)
    assert data["email"] == EMAIL
    [chat] = data["tickets"]
    assert chat["number"] == seen.chat_number
    assert (chat["email"], chat["name"], chat["phone"]) == (EMAIL, "Rossi Mario", "+393331234567")
    assert chat["operator"] == "Sara Gialli"
    assert [(m["author"], m["body"]) for m in chat["messages"]] == [
        ("student", chat["messages"][0]["body"]),
        ("operator", "Gentile Mario, carichi la ricevuta."),
    ]
    assert "Nota interna" not in body.decode()
    assert "sgialli" not in body.decode()  # operators' usernames are the office's
    assert all("internal" not in m and "username" not in m for m in chat["messages"])
    [screenshot] = chat["messages"][0]["attachments"]
    assert screenshot["filename"] == "schermata.png"
    assert base64.b64decode(screenshot["content_base64"]) == PNG
    conversation = chat["conversation"]
    assert conversation["id"] == seen.conversation_id
    said = [e["text"] for e in conversation["transcript"] if e["from"] == "student"]
    assert "mario.rossi@example.com" in said and "Rossi Mario" in said
    assert seen.chat_token not in body.decode()  # the chat handed it out; it stays out
    assert [(h["status"], h["by"]) for h in chat["history"]] == [("open", "student")]
    assert [m["subject"] for m in chat["mails"]][0].startswith(f"[Ticket {seen.chat_number}]")
    assert {"outbox", "purge", "anonymised_at"}.isdisjoint(chat)

    # The second ticket was opened with the same email by anyone who knew it: its token
    # gives that ticket alone, not the chat's ticket, its operator's answer or its files.
    status, _, body = await fetch(server, f"/api/tickets/{seen.api_number}/export",
                                  seen.api_token)
    assert status == 200
    [api] = json.loads(body)["tickets"]
    assert api["number"] == seen.api_number and api["conversation"] is None
    assert base64.b64decode(api["messages"][0]["attachments"][0]["content_base64"]) == PDF
    for secret in (seen.chat_number, "carichi la ricevuta", "schermata.png", "Sara Gialli"):
        assert secret not in body.decode(), secret
    for token in (seen.other_token, "forged.123.abc", None):
        status, _, _ = await fetch(server, f"/api/tickets/{seen.api_number}/export", token)
        assert status == 401
