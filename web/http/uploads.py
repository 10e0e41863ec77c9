"""Receiving one attachment from a multipart body: streamed, capped, typed by content. Students
and operators send them the same way, under the same limits.

The cap is counted here while streaming (aiohttp's client_max_size is only a backstop, see
shared/research/reliability-security.md section 4), the type comes from the file's first
bytes, never from its name or the client's Content-Type, clamd scans it when the deployment has
one (web/desk/antivirus.py), and a rejected upload leaves no file.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import filetype
from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from bot.validate import PLAIN_PUNCTUATION
from storage import Attachment
from storage.protocol import Attachments
from web.config import MAX_ATTACHMENT_BYTES
from web.desk.antivirus import Antivirus
from web.desk.errors import ApiError
from web.http.errors import json_object
from web.http.keys import SERVICES

ALLOWED_TYPES = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}
MAX_FIELD_BYTES = 64 * 1024
# Everything but the attachment: the form's fields and parts nobody asked for. Parts not read
# into a field are still read off the wire, so they are counted too: an endless stream of
# them would otherwise be read to its end before any answer.
MAX_OTHER_BYTES = 256 * 1024
# And how many parts: each costs parsing however small it is (30,000 empty ones held the
# event loop for seconds). Our forms have at most 9.
MAX_PARTS = 16
MAX_FORM_BYTES = MAX_ATTACHMENT_BYTES + MAX_OTHER_BYTES
CHUNK = 64 * 1024
# What aiohttp's multipart reader raises on a body that is not the multipart it announced (no
# boundary, a broken one, a header it cannot parse, a charset nobody knows): the sender's
# fault, a 400.
MALFORMED = (ValueError, LookupError, HttpProcessingError)


# names' punctuation, and the dashes a file name may hold too
_TYPOGRAPHIC = {**PLAIN_PUNCTUATION, ord("\u2013"): "-", ord("\u2014"): "-"}


def clean_filename(name: str | None, extension: str) -> str:
    """A display name safe in a header and a file dialog; the extension always matches the
    detected type, so "photo.jpg.html" cannot come back as HTML."""
    base = unicodedata.normalize("NFKC", name or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    # Italian names have apostrophes ("carta d’identità"): kept, as the plain one
    base = base.translate(_TYPOGRAPHIC)
    base = re.sub(r"[^\w .,()'-]+", "_", base).strip(" ._") or "allegato"
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return _shortened(stem, 80) + extension


def _shortened(stem: str, most: int) -> str:
    """At most `most` characters, cut between words where one ends in the second half, and
    without a bracket left open: "Modulo 2026 (versione definitiva, firmabile)" reads whole
    or as "Modulo 2026", never as "Modulo 2026 (versione defin"."""
    if len(stem) <= most:
        return stem
    cut = stem[:most]
    if " " in cut[most // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    if cut.count("(") > cut.count(")"):
        cut = cut[: cut.rindex("(")]
    return cut.rstrip(" ._,-") or stem[:most]


@dataclass
class Form:
    fields: dict[str, str]
    attachment: Attachment | None


async def read_form(
    request: web.Request, attachments: Attachments, *, field_names: set[str]
) -> Form:
    """Text fields (each capped) and at most one `attachment` part, stored on success."""
    fields: dict[str, str] = {}
    attachment: Attachment | None = None
    other_bytes = 0
    try:
        reader = await request.multipart()
        parts = 0
        while (part := await reader.next()) is not None:
            parts += 1
            if parts > MAX_PARTS or not isinstance(part, BodyPartReader):
                raise ApiError(400, "bad_request")
            if part.name == "attachment":
                if attachment is not None:
                    raise ApiError(400, "bad_request")
                if part.filename is None and part.at_eof():
                    continue
                attachment = await _receive(part, attachments, request.app[SERVICES].antivirus)
                continue
            data = await _read_field(part)
            other_bytes += len(data)
            if other_bytes > MAX_OTHER_BYTES:
                raise ApiError(413, "too_large")
            if part.name in field_names:
                fields[part.name] = data.decode("utf-8", errors="replace")
    except BaseException as exc:
        if attachment is not None:
            await attachments.delete(attachment.id)
        if isinstance(exc, MALFORMED):
            raise ApiError(400, "bad_request") from None
        raise
    return Form(fields, attachment)


async def read_body(
    request: web.Request, attachments: Attachments, fields: set[str]
) -> tuple[dict[str, Any], Attachment | None]:
    """JSON, or multipart with an optional `attachment` part (at most 2 MiB, PDF/PNG/JPEG):
    the fields come as strings from a form, as they are from JSON."""
    if request.content_type == "multipart/form-data":
        form = await read_form(request, attachments, field_names=fields)
        return dict(form.fields), form.attachment
    return await json_object(request), None


async def discard(attachments: Attachments, attachment: Attachment | None) -> None:
    """An attachment of a refused request must not stay behind."""
    if attachment is not None:
        await attachments.delete(attachment.id)


async def _read_field(part: BodyPartReader) -> bytes:
    """A text field, whole: read_chunk returns what has arrived so far, so a long message
    split across network packets must be read until its end (or cut, silently)."""
    data = bytearray()
    while chunk := await part.read_chunk(CHUNK):
        data += chunk
        if len(data) > MAX_FIELD_BYTES:
            raise ApiError(413, "too_large")
    return bytes(data)


async def _receive(
    part: BodyPartReader, attachments: Attachments, antivirus: Antivirus | None
) -> Attachment | None:
    content = bytearray()  # kept for the scanner only: at most 2 MiB while it is received
    async with attachments.receive() as upload:
        while chunk := await part.read_chunk(CHUNK):
            if upload.size + len(chunk) > MAX_ATTACHMENT_BYTES:
                raise ApiError(413, "too_large")
            await upload.write(chunk)
            if antivirus is not None:
                content += chunk
        if upload.size == 0:
            if part.filename:
                # a file of nothing: a download that failed, a cloud file never fetched
                raise ApiError(400, "empty_file")
            return None  # an empty file input: no attachment, as if none was chosen
        kind = filetype.guess(upload.head)
        mime = kind.mime if kind is not None else None
        if mime not in ALLOWED_TYPES:
            raise ApiError(415, "unsupported_type")
        if antivirus is not None:
            await antivirus.check(bytes(content))
        size = upload.size
        attachment_id = await upload.commit()
    return Attachment(
        id=attachment_id,
        filename=clean_filename(part.filename, ALLOWED_TYPES[mime]),
        size=size,
        content_type=mime,
    )
