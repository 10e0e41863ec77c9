"""The console page: everything its script needs to start, rendered on the server."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from storage.models import TICKET_STATUSES
from web.console.access import no_store
from web.console.namespace import CONSOLE, person
from web.http.keys import SERVICES

routes = web.RouteTableDef()


@routes.get("/console")
async def console_page(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    lang = "en" if request.query.get("lang") == "en" else "it"
    found = await request.app[CONSOLE].caller(request)
    index = services.faq.index
    boot = {
        "lang": lang,
        "statuses": list(TICKET_STATUSES),
        "topics": [
            {
                "id": topic.id,
                "label": topic.label_in(lang),
                "subtopics": [{"id": s.id, "label": s.label_in(lang)} for s in topic.subtopics],
            }
            for topic in index.topics
        ],
        "me": None
        if found is None
        else {
            **person(found.operator),
            "role": found.operator.role,
            "csrf_token": found.session.csrf_token,
        },
        "idle_minutes": services.config.session_idle_minutes,
    }
    response = aiohttp_jinja2.render_template(
        "console.html", request, {"lang": lang, "boot": boot, "signed_in": found is not None}
    )
    return no_store(response)
