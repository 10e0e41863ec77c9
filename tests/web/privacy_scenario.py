"""One student's data spread the way real use spreads it, for the export and erasure tests: a
ticket opened in the chat with a file uploaded there, a second one opened through the API in
other letter case with a file of its own, an operator's answer and an internal note; and a
second student who must come out of everything untouched."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import aiohttp

from storage import Operator
from tests.conftest import Server
from tests.web.student.test_chat import PNG, Student, to_attachment_step, upload
from web.desk.tickets import Desk
from web.http.keys import SERVICES

EMAIL = "mario.rossi@example.com"  # what tests/web/student/test_chat.py's student types
PDF = b"%PDF-1.4 ricevuta di pagamento della prima rata"
OPERATOR = Operator(username="sgialli", name="Sara Gialli", role="operator", password_hash="x")


@dataclass
class Scenario:
    chat_number: str
    chat_token: str
    conversation_id: str
    chat_file: str
    api_number: str
    api_token: str
    api_file: str
    other_number: str
    other_token: str


async def _post_ticket(server: Server, email: str, attachment: bytes | None) -> dict[str, Any]:
    fields = {
        "email": email, "name": "Rossi Mario", "phone": "3331234567",
        "topic": "immatricolazioni", "subtopic": "tasse-pagamenti",
        "message": "Ho pagato la prima rata ma il portale non la registra.",
    }
    body: dict[str, Any] = {"json": fields}
    if attachment is not None:
        data = aiohttp.FormData()
        for key, value in fields.items():
            data.add_field(key, value)
        data.add_field("attachment", io.BytesIO(attachment), filename="ricevuta.pdf",
                       content_type="application/pdf")
        body = {"data": data}
    async with aiohttp.ClientSession() as http, http.post(
        f"{server.url}/api/tickets", **body
    ) as response:
        assert response.status == 201, await response.text()
        return dict(await response.json())


async def spread_student_data(server: Server) -> Scenario:
    services = server.app[SERVICES]
    student = Student(server)
    await student.connect()
    await student.hello()
    await to_attachment_step(student)
    assert student.conversation_id
    response = await upload(server, student.conversation_id, "schermata.png", PNG)
    chat_file = (await response.json())["id"]
    await student.attach(chat_file)
    done = await student.choose("confirm")
    [entry] = [e for e in done if e["kind"] == "ticket"]
    await student.close()

    api = await _post_ticket(server, "Mario.Rossi@Example.COM", PDF)
    other = await _post_ticket(server, "giulia.verdi@example.com", None)
    api_ticket = await services.storage.tickets.get(api["number"])
    assert api_ticket is not None

    await services.storage.operators.put(OPERATOR)
    desk = Desk(services)
    number = entry["data"]["number"]
    await desk.operator_reply(number, OPERATOR, "Gentile Mario, carichi la ricevuta.",
                              internal=False)
    await desk.operator_reply(number, OPERATOR, "Nota interna: studente già sentito al telefono",
                              internal=True)
    return Scenario(
        chat_number=number,
        chat_token=entry["data"]["token"],
        conversation_id=student.conversation_id,
        chat_file=chat_file,
        api_number=api["number"],
        api_token=api["token"],
        api_file=api_ticket.messages[0].attachments[0].id,
        other_number=other["number"],
        other_token=other["token"],
    )
