"""Reading JSON bodies and the caller's language, and writing CONTRACT.md section 4's error
shape: the HTTP plumbing both sides share."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from bot.i18n import normalise_lang, t
from web.desk.errors import ApiError
from web.http import json_codec

# Codes whose message comes in variants (seconds or minutes, with or without a reference):
# the client sees one code.
PUBLIC_CODES = {
    "rate_limited_seconds": "rate_limited",
    "rate_limited_second": "rate_limited",
    "internal_reference": "internal",
}


async def json_object(request: web.Request) -> dict[str, Any]:
    """A JSON object body. Only application/json: a cross-site HTML form cannot send it,
    which keeps forged form posts out of the API."""
    if request.content_type != "application/json":
        raise ApiError(400, "bad_request")
    # JSON is UTF-8 (RFC 8259): a charset parameter naming anything else, or nothing
    # Python knows, must not decide how the bytes are read. The sockets' decoder: it refuses
    # what no text can be stored as (a lone surrogate, the half of an emoji cut by a client),
    # NaN and nesting past 1,024 levels, as the sockets do.
    try:
        data = json_codec.loads(await request.read())
    except ValueError:
        raise ApiError(400, "bad_request") from None
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request")
    return data


def request_lang(request: web.BaseRequest) -> str:
    """Italian unless the client asks for English first (Accept-Language or ?lang=en)."""
    explicit = request.query.get("lang")
    if explicit:
        return normalise_lang(explicit)
    header = request.headers.get("Accept-Language", "")
    first = header.split(",")[0].split(";")[0]
    return normalise_lang(first)


def error_response(error: ApiError, lang: str, *, reference: str | None = None) -> web.Response:
    """CONTRACT.md's error shape; `reference` names an unexpected error in the log, so the
    office can find it from what the user reads out."""
    body: dict[str, object] = {
        "code": PUBLIC_CODES.get(error.code, error.code),
        "message": t(f"error.{error.code}", lang, **error.params),
    }
    if error.fields:
        body["fields"] = {name: t(key, lang) for name, key in error.fields.items()}
    if reference is not None:
        body["reference"] = reference
    return web.Response(
        status=error.status,
        text=json.dumps({"error": body}, ensure_ascii=False),
        content_type="application/json",
        headers=error.headers,
    )
