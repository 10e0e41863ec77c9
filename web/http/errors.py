"""Reading JSON bodies and the caller's language, and writing CONTRACT.md section 4's error
shape: the HTTP plumbing both sides share."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from bot.i18n import normalise_lang, t
from web.desk.errors import ApiError


async def json_object(request: web.Request) -> dict[str, Any]:
    """A JSON object body. Only application/json: a cross-site HTML form cannot send it,
    which keeps forged form posts out of the API."""
    if request.content_type != "application/json":
        raise ApiError(400, "bad_request")
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError(400, "bad_request") from None
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request")
    return data


def request_lang(request: web.Request) -> str:
    """Italian unless the client asks for English first (Accept-Language or ?lang=en)."""
    explicit = request.query.get("lang")
    if explicit:
        return normalise_lang(explicit)
    header = request.headers.get("Accept-Language", "")
    first = header.split(",")[0].split(";")[0]
    return normalise_lang(first)


def error_response(error: ApiError, lang: str) -> web.Response:
    body: dict[str, object] = {
        "code": error.code,
        "message": t(f"error.{error.code}", lang, **error.params),
    }
    if error.fields:
        body["fields"] = {name: t(key, lang) for name, key in error.fields.items()}
    code = "rate_limited" if error.code == "rate_limited_seconds" else error.code
    body["code"] = code
    return web.Response(
        status=error.status,
        text=json.dumps({"error": body}, ensure_ascii=False),
        content_type="application/json",
        headers=error.headers,
    )
