"""Ready answers ("Risposte pronte"): the office's own texts and the FAQ answers, searched
from the console."""

from __future__ import annotations

from aiohttp import web

from bot.i18n import normalise_lang
from bot.replies import find
from web.console.access import json_response, require
from web.http.errors import request_lang

FAQ_RESULTS = 8

routes = web.RouteTableDef()


@routes.get("/api/console/faq")
async def search_faq(request: web.Request) -> web.StreamResponse:
    console, _ = await require(request, csrf=False)
    index = console.services.faq.index
    lang = normalise_lang(request.query.get("lang") or request_lang(request))
    query = request.query.get("q", "").strip()[:300]
    topic = request.query.get("topic") or None
    subtopic = request.query.get("subtopic") or None
    if query:
        faqs = [
            f
            for m in index.search_ranked(query, lang, topic, subtopic)[:FAQ_RESULTS]
            if (f := index.get(m.id)) is not None
        ]
    elif subtopic:
        faqs = [f for f in index.faqs if f.subtopic == subtopic and (not topic or f.topic == topic)]
    else:
        faqs = []
    return json_response(
        {
            "replies": [
                {"id": r.id, "title": r.title_in(lang), "text": r.text_in(lang)}
                # what the operator typed only: the student's words would leave none
                for r in find(index.replies, request.query.get("find", "")[:300], lang)
            ],
            "faqs": [
                {
                    "id": f.id,
                    "question": f.question_in(lang),
                    "answer": f.answer_in(lang),
                    "links": [{"label": link.label_in(lang), "url": link.url} for link in f.links],
                }
                for f in faqs
            ]
        }
    )
