"""A JSON document handed over as a file to save, not a page to show."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


def json_download(data: Any, filename: str) -> web.Response:
    """The name is ours (ASCII, no quotes): nothing the student typed reaches the header."""
    return web.Response(
        body=json.dumps(data, ensure_ascii=False, indent=2).encode(),
        content_type="application/json",
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "X-Content-Type-Options": "nosniff",
            # Personal data: never in a shared or back-button cache.
            "Cache-Control": "no-store",
        },
    )
