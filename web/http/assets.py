"""The widget's and the console's files, compressed and revalidated.

A student on a phone pays for every byte: the files are gzipped (about 34 KiB for the whole
widget, Socket.IO client included, instead of 120) and carry an ETag, so a returning visitor
downloads nothing. Only the files under web/static are reachable: attachments never are.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

# The assets stay at web/static, beside the templates, where designers look for them.
STATIC = Path(__file__).resolve().parents[1] / "static"
TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


@dataclass(frozen=True)
class _Asset:
    mtime_ns: int
    body: bytes
    etag: str
    content_type: str


class Assets:
    def __init__(self, root: Path = STATIC) -> None:
        self.root = root.resolve()
        self._cache: dict[Path, _Asset] = {}

    def _load(self, relative: str) -> _Asset | None:
        path = (self.root / relative).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            return None
        mtime = path.stat().st_mtime_ns
        cached = self._cache.get(path)
        if cached is None or cached.mtime_ns != mtime:
            body = path.read_bytes()
            ctype = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
            cached = _Asset(
                mtime_ns=mtime,
                body=body,
                etag='"' + hashlib.sha256(body).hexdigest()[:20] + '"',
                content_type=ctype or "application/octet-stream",
            )
            self._cache[path] = cached
        return cached

    def respond(self, request: web.Request, relative: str) -> web.StreamResponse:
        asset = self._load(relative)
        if asset is None:
            raise web.HTTPNotFound()
        # Revalidated every time (no-cache + ETag): a fixed widget reaches every university
        # page at once, and an unchanged one costs a 304.
        headers = {"ETag": asset.etag, "Cache-Control": "no-cache"}
        if request.headers.get("If-None-Match") == asset.etag:
            return web.Response(status=304, headers=headers)
        response = web.Response(body=asset.body, headers=headers)
        response.content_type = asset.content_type
        if asset.content_type.startswith("text/"):
            response.charset = "utf-8"
        response.enable_compression()
        return response

    async def static(self, request: web.Request) -> web.StreamResponse:
        return self.respond(request, request.match_info["path"])

    async def widget(self, request: web.Request) -> web.StreamResponse:
        return self.respond(request, "widget.js")

    async def favicon(self, request: web.Request) -> web.StreamResponse:
        return self.respond(request, "favicon.svg")
