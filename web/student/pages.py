"""The server-rendered pages: they read without JavaScript; the widget enhances them."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from bot.faq import Faq, FaqIndex
from web.http.keys import SERVICES

routes = web.RouteTableDef()
MAX_QUERY = 300


def page_lang(request: web.Request) -> str:
    # The page is Italian unless the visitor chose English (?lang=en), not the browser's
    # preference: the university's pages are Italian first.
    return "en" if request.query.get("lang") == "en" else "it"


def faq_view(faq: Faq, lang: str) -> dict[str, Any]:
    return {
        "id": faq.id,
        "question": faq.question_in(lang),
        "answer": faq.answer_in(lang),
        "links": [{"label": link.label_in(lang), "url": link.url} for link in faq.links],
    }


def page_context(request: web.Request, name: str) -> dict[str, Any]:
    lang = page_lang(request)
    # the same page in the other language, keeping what it was showing (a ticket's number,
    # a FAQ search)
    kept = [(k, v) for k, v in request.query.items() if k != "lang"]
    other = request.rel_url.with_query(kept + ([("lang", "en")] if lang == "it" else []))
    return {"lang": lang, "page": name, "other_lang_url": str(other)}


@routes.get("/")
@aiohttp_jinja2.template("landing.html")
async def landing(request: web.Request) -> dict[str, Any]:
    return page_context(request, "landing")


@routes.get("/ticket")
@aiohttp_jinja2.template("ticket.html")
async def ticket_page(request: web.Request) -> dict[str, Any]:
    context = page_context(request, "ticket")
    context["number"] = request.query.get("number", "")[:10]
    return context


@routes.get("/faq")
@aiohttp_jinja2.template("faq.html")
async def faq_page(request: web.Request) -> dict[str, Any]:
    context = page_context(request, "faq")
    lang = context["lang"]
    index: FaqIndex = request.app[SERVICES].faq.index
    query = request.query.get("q", "").strip()[:MAX_QUERY]
    selected = request.query.get("topic", "")
    sections = []
    for topic in index.topics:
        if selected and topic.id != selected:
            continue
        subsections = []
        for subtopic in topic.subtopics:
            faqs = [
                faq_view(f, lang)
                for f in index.faqs
                if f.topic == topic.id and f.subtopic == subtopic.id
            ]
            if faqs:
                subsections.append(
                    {"id": subtopic.id, "label": subtopic.label_in(lang), "faqs": faqs}
                )
        if subsections:
            sections.append(
                {"id": topic.id, "label": topic.label_in(lang), "subtopics": subsections}
            )
    results = None
    if query:
        results = []
        for match in index.search(query, lang=lang, topic=selected or None, limit=5):
            faq = index.get(match.id)
            if faq is not None:
                results.append(faq_view(faq, lang))
    context.update(
        query=query,
        results=results,
        sections=sections,
        topics=[{"id": t.id, "label": t.label_in(lang)} for t in index.topics],
        selected=selected,
    )
    return context
