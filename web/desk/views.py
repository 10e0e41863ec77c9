"""How a ticket, a message and a queue line look on the wire, for both sides."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from storage import Attachment, Message, TicketSummary


def new_id() -> str:
    return secrets.token_hex(8)


def attachment_view(attachment: Attachment) -> dict[str, Any]:
    return {"id": attachment.id, "filename": attachment.filename, "size": attachment.size}


def message_view(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "author": message.author,
        "name": message.name,
        "body": message.body,
        "at": message.at,
        "internal": message.internal,
        "attachments": [attachment_view(a) for a in message.attachments],
    }


def summary_view(summary: TicketSummary, operator_names: Mapping[str, str]) -> dict[str, Any]:
    return {
        "number": summary.number,
        "status": summary.status,
        "topic": summary.topic,
        "subtopic": summary.subtopic,
        "name": summary.name,
        "email": summary.email,
        "operator": (
            {
                "username": summary.operator,
                "name": operator_names.get(summary.operator, summary.operator),
            }
            if summary.operator
            else None
        ),
        "created_at": summary.created_at,
        "updated_at": summary.updated_at,
        "last_author": summary.last_author,
        # since when the student has waited for the office's answer (null when they do not):
        # the queue's "Fermi da più tempo" order, which the creation's age does not show
        "student_waiting_since": summary.waiting_since if summary.awaits_office else None,
    }
