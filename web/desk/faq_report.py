"""The editors' report: what students asked that no FAQ answered, which FAQs were shown and did
not help, which ones solved the question. A pure function over the FAQ events the chat records
(storage.FaqEvent), so that it is tested with hand-made events and no server.

How the events are counted:
- the window is the office's figures' (web/desk/figures.py): N whole days of the office's
  calendar, today included. The console offers one choice of days for both reports, side by
  side; 7 x 24 hours back from now would start at this hour of an eighth day;
- a question is a `suggested` or a `no_match` event (one per message the assistant searched);
- `solved` and `not_solved` name every FAQ that was on screen when the student answered: the
  student says "solved" or "not solved" to the suggestions as a group, not to one of them;
- questions that no FAQ matched are grouped by their folded words (bot.text.words), so that
  "Orari biblioteca?" and "orari  della biblioteca" stay apart but "ORARI BIBLIOTECA!!" and
  "orari biblioteca" are one line;
- per FAQ (`uses`), how often the assistant showed it as the answer (the band "confident", and
  every suggestion recorded before the bands), how often it offered it hedged (the band
  "middle": the FAQ was close, not close enough), and how often operators inserted its answer
  into a reply (`inserted`: students who did not find it). The most hedged come first: their
  wording or variants miss how students ask.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from bot.faq import FaqIndex
from bot.text import words
from storage.models import FaqEvent
from web.desk import figures
from web.desk.office_hours import OFFICE_TZ
from web.desk.redact import without_contacts

UNANSWERED_MAX = 100
NOT_HELPFUL_MAX = 100
HELPFUL_MAX = 20
USES_MAX = 200
# Below this many suggestions a FAQ's "not solved" share says nothing yet.
MIN_SUGGESTED = 3


@dataclass(frozen=True)
class Unanswered:
    text: str  # the normalised form the group shares
    count: int
    last_asked: str
    example: str  # the latest one, as the student typed it
    lang: str  # the example's


@dataclass(frozen=True)
class NotHelpful:
    id: str
    question: str  # in the reader's language; the id itself for a FAQ that no longer exists
    exists: bool
    suggested: int
    not_solved: int
    ratio: float  # not_solved / suggested, 0..1


@dataclass(frozen=True)
class Helpful:
    id: str
    question: str
    exists: bool
    solved: int


@dataclass(frozen=True)
class FaqUse:
    id: str
    question: str
    exists: bool
    confident: int  # questions it was shown for as the answer
    middle: int  # questions it was offered for hedged ("forse una di queste")
    inserted: int  # operator replies that carried its answer


@dataclass(frozen=True)
class Totals:
    questions: int
    solved: int
    not_solved: int
    no_match: int
    middle: int  # the questions answered with hedged FAQs (part of `questions`)
    inserted: int  # the operator replies that carried a FAQ answer


@dataclass(frozen=True)
class Window:
    days: int
    since: str
    until: str
    # The oldest moment the report saw: `since`, unless the server keeps fewer events in
    # memory than the window holds, in which case the report starts later than asked.
    covered_from: str


@dataclass(frozen=True)
class FaqReport:
    window: Window
    totals: Totals
    unanswered: list[Unanswered] = field(default_factory=list)
    unanswered_groups: int = 0  # how many groups there were before the cut at UNANSWERED_MAX
    not_helpful: list[NotHelpful] = field(default_factory=list)
    helpful: list[Helpful] = field(default_factory=list)
    uses: list[FaqUse] = field(default_factory=list)


def normalised(query: str) -> str:
    """Lower case, accents folded, punctuation and extra spaces gone."""
    return " ".join(words(query))


def _when(at: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(at)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else None  # utcnow() always writes the zone


def _question(index: FaqIndex, faq_id: str, lang: str) -> tuple[str, bool]:
    faq = index.get(faq_id)
    return (faq.question_in(lang), True) if faq is not None else (faq_id, False)


def build_report(
    events: Iterable[FaqEvent],
    index: FaqIndex,
    lang: str,
    days: int,
    now: datetime,
    *,
    every_event: bool = True,
) -> FaqReport:
    """The report over the `days` days of the office's calendar up to `now` (an aware
    datetime). every_event: `events` holds everything the log has; False when it was cut, so
    the report may start late."""
    since = figures.Window.of(days, now).starts[0]
    oldest: datetime | None = None
    kinds: Counter[str] = Counter()
    suggested: Counter[str] = Counter()
    not_solved: Counter[str] = Counter()
    solved: Counter[str] = Counter()
    uses = {"confident": Counter[str](), "middle": Counter[str](), "inserted": Counter[str]()}
    hedged = 0  # questions answered in the middle band
    groups: dict[str, list[tuple[datetime, FaqEvent]]] = {}
    for event in events:
        at = _when(event.at)
        if at is None:
            continue
        oldest = at if oldest is None else min(oldest, at)
        if at < since:
            continue
        kinds[event.kind] += 1
        ids = set(event.faq_ids)  # an id twice in one event is still one suggestion
        if event.kind == "suggested":
            suggested.update(ids)
            if event.band == "middle":
                hedged += 1
                uses["middle"].update(ids)
            else:  # before the bands, every suggestion was shown as the answer
                uses["confident"].update(ids)
        elif event.kind == "inserted":
            uses["inserted"].update(ids)
        elif event.kind == "not_solved":
            not_solved.update(ids)
        elif event.kind == "solved":
            solved.update(ids)
        elif event.kind == "no_match":
            key = normalised(without_contacts(event.query))
            if key:  # "???" is no question an editor can answer
                groups.setdefault(key, []).append((at, event))

    ranked = []
    for key, asked in groups.items():
        last_at, last = max(asked, key=lambda pair: pair[0])
        ranked.append((-len(asked), -last_at.timestamp(), key, last))
    ranked.sort(key=lambda r: r[:3])  # most asked, then most recently asked first
    unanswered = [
        # questions recorded before they were kept without contact details still hold them
        # (web/desk/redact.py): the editors never see them
        Unanswered(key, -count, last.at, without_contacts(last.query), last.lang)
        for count, _, key, last in ranked
    ]

    not_helpful = []
    for faq_id, shown in suggested.items():
        refused = not_solved.get(faq_id, 0)
        if shown < MIN_SUGGESTED or not refused:
            continue
        question, exists = _question(index, faq_id, lang)
        # A suggestion made just before the window and refused inside it counts once as
        # refused and never as shown: the share cannot go past all of them.
        ratio = round(min(1.0, refused / shown), 3)
        not_helpful.append(NotHelpful(faq_id, question, exists, shown, refused, ratio))
    not_helpful.sort(key=lambda n: (-n.not_solved, -n.ratio, n.id))

    helpful = []
    for faq_id, count in sorted(solved.items(), key=lambda item: (-item[1], item[0])):
        question, exists = _question(index, faq_id, lang)
        helpful.append(Helpful(faq_id, question, exists, count))

    used = []
    for faq_id in sorted(set().union(*uses.values())):
        question, exists = _question(index, faq_id, lang)
        counts = (uses["confident"][faq_id], uses["middle"][faq_id], uses["inserted"][faq_id])
        used.append(FaqUse(faq_id, question, exists, *counts))
    used.sort(key=lambda u: (-u.middle, -u.inserted, -u.confident, u.id))

    covered = since if every_event or oldest is None or oldest <= since else oldest
    return FaqReport(
        # in the office's time, as the figures' window
        window=Window(
            days,
            *(
                moment.astimezone(OFFICE_TZ).isoformat(timespec="milliseconds")
                for moment in (since, now, covered)
            ),
        ),
        totals=Totals(
            questions=kinds["suggested"] + kinds["no_match"],
            solved=kinds["solved"],
            not_solved=kinds["not_solved"],
            no_match=kinds["no_match"],
            middle=hedged,
            inserted=kinds["inserted"],
        ),
        unanswered=unanswered[:UNANSWERED_MAX],
        unanswered_groups=len(unanswered),
        not_helpful=not_helpful[:NOT_HELPFUL_MAX],
        helpful=helpful[:HELPFUL_MAX],
        uses=used[:USES_MAX],
    )
