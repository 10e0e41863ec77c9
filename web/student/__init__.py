"""The students' side: the public pages, the HTTP API of CONTRACT.md section 4, the `/chat`
namespace, attachments, and their privacy (the notice, the export)."""

from __future__ import annotations

from web.student import api, attachments, pages, privacy

ROUTES = (pages.routes, api.routes, attachments.routes, privacy.routes)
