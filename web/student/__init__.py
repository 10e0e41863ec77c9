"""The students' side: the public pages, the HTTP API of CONTRACT.md section 4, the `/chat`
namespace and attachments."""

from __future__ import annotations

from web.student import api, attachments, pages

ROUTES = (pages.routes, api.routes, attachments.routes)
