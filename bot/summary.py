"""The summary shown before the ticket is confirmed: every field of the request, in the
conversation's language, with labels instead of topic and subtopic ids.
"""

from __future__ import annotations

from bot.flow import SUMMARY_FIELDS
from bot.i18n import t
from bot.turn import Reply, Turn


def summary(turn: Turn) -> Reply:
    slots, lang = turn.slots, turn.lang
    topic = turn.faq.topic(str(slots.get("topic", "")))
    subtopic = next(
        (s for s in (topic.subtopics if topic else ()) if s.id == slots.get("subtopic")), None
    )
    attachment = slots.get("attachment")
    shown = {
        "topic": topic.label_in(lang) if topic else "",
        "subtopic": subtopic.label_in(lang) if subtopic else "",
        "attachment": (
            str(attachment.get("filename", ""))
            if isinstance(attachment, dict)
            else t("summary.no_attachment", lang)
        ),
    }
    names = [*SUMMARY_FIELDS, *(["references"] if slots.get("references") else [])]
    fields = [
        {"key": n, "label": t(f"field.{n}", lang), "value": shown.get(n, str(slots.get(n, "")))}
        for n in names
    ]
    return Reply("summary", t("summary.intro", lang), {"fields": fields})
