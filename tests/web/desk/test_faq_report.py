"""The editors' report as a pure function, over hand-made FAQ events and the real corpus."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import pytest

from bot.faq import FaqIndex
from storage import FaqEvent
from tests.conftest import FAQ_DIR
from web.desk.faq_report import HELPFUL_MAX, UNANSWERED_MAX, build_report, normalised

NOW = datetime(2026, 9, 14, 12, 0, tzinfo=UTC)
ROME = ZoneInfo("Europe/Rome")
GONE = "tasse-999"  # a FAQ an editor deleted after the students saw it
Kind = Literal["suggested", "solved", "not_solved"]


@pytest.fixture(scope="module")
def index() -> FaqIndex:
    return FaqIndex.from_directory(FAQ_DIR)


def ago(days: float = 0, hours: float = 0) -> str:
    return (NOW - timedelta(days=days, hours=hours)).isoformat(timespec="milliseconds")


def asked(query: str, at: str, lang: str = "it") -> FaqEvent:
    return FaqEvent(kind="no_match", query=query, lang=lang, at=at)


def shown(kind: Kind, *ids: str, at: str | None = None) -> FaqEvent:
    return FaqEvent(kind=kind, query="una domanda", lang="it", faq_ids=list(ids),
                    at=at or ago(hours=1))


def test_near_identical_questions_are_one_line_with_the_latest_as_example(
    index: FaqIndex,
) -> None:
    events = [
        asked("Orari della BIBLIOTECA?!", ago(hours=1)),
        asked("orari   della biblioteca", ago(days=2)),
        asked("Orari della bibliotèca", ago(days=3)),
        asked("Where can I park my bike?", ago(days=1), lang="en"),
        asked("where can i park my bike", ago(days=4), lang="en"),
        asked("Posso portare il cane a lezione?", ago(hours=5)),
        asked("??? !!", ago(hours=2)),  # no words: nothing an editor could answer
    ]
    report = build_report(events, index, "it", 30, NOW)
    assert [(u.text, u.count) for u in report.unanswered] == [
        ("orari della biblioteca", 3),
        ("where can i park my bike", 2),
        ("posso portare il cane a lezione", 1),
    ]
    library = report.unanswered[0]
    assert (library.example, library.last_asked, library.lang) == (
        "Orari della BIBLIOTECA?!", ago(hours=1), "it"
    )
    assert report.unanswered[1].lang == "en"
    assert report.unanswered_groups == 3
    assert report.totals.no_match == 7 and report.totals.questions == 7


def test_questions_kept_with_contact_details_show_none_to_the_editors(index: FaqIndex) -> None:
    # recorded before the questions were kept without them
    events = [
        asked("Sono Mario, scrivetemi a mario.rossi@gmail.com o al 333 123 4567", ago(hours=1)),
        asked("sono mario scrivetemi a luigi.verdi@libero.it o al 3471234567", ago(hours=2)),
    ]
    [line] = build_report(events, index, "it", 30, NOW).unanswered
    assert (line.text, line.count) == ("sono mario scrivetemi a email o al tel", 2)
    assert line.example == "Sono Mario, scrivetemi a <email> o al <tel>"


def test_the_normalised_form_folds_case_accents_punctuation_and_spaces() -> None:
    assert normalised("  Perché l'ISEE  non è arrivato?? ") == "perche l isee non e arrivato"
    assert normalised("cmq x la 2a rata") == "comunque per la seconda rata"  # chat shorthand


def test_equal_counts_put_the_latest_question_first_and_the_list_is_cut(
    index: FaqIndex,
) -> None:
    events = [asked(f"domanda numero {n}", ago(hours=n)) for n in range(UNANSWERED_MAX + 20)]
    report = build_report(events, index, "it", 30, NOW)
    assert len(report.unanswered) == UNANSWERED_MAX
    assert report.unanswered_groups == UNANSWERED_MAX + 20
    assert report.unanswered[0].text == "domanda numero 0"
    assert report.unanswered[-1].text == f"domanda numero {UNANSWERED_MAX - 1}"


def test_a_faq_counts_as_not_helpful_only_after_three_suggestions(index: FaqIndex) -> None:
    events = [
        # accesso-001: shown 4 times, refused 3 times
        *[shown("suggested", "accesso-001", "accesso-002") for _ in range(4)],
        *[shown("not_solved", "accesso-001", "accesso-002") for _ in range(3)],
        # accesso-002 was shown with it 4 times, plus 2 alone and solved
        *[shown("suggested", "accesso-002") for _ in range(2)],
        *[shown("solved", "accesso-002") for _ in range(2)],
        # accesso-003: refused twice, but shown only twice: too few to judge
        *[shown("suggested", "accesso-003") for _ in range(2)],
        *[shown("not_solved", "accesso-003") for _ in range(2)],
        # accesso-004: shown often, never refused: nothing to fix
        *[shown("suggested", "accesso-004") for _ in range(5)],
    ]
    report = build_report(events, index, "it", 30, NOW)
    assert [(n.id, n.suggested, n.not_solved, n.ratio) for n in report.not_helpful] == [
        ("accesso-001", 4, 3, 0.75),
        ("accesso-002", 6, 3, 0.5),
    ]
    assert report.not_helpful[0].question == "Quali corsi sono a numero programmato?"
    assert report.not_helpful[0].exists
    assert [(h.id, h.solved) for h in report.helpful] == [("accesso-002", 2)]
    assert report.totals.questions == 4 + 2 + 2 + 5
    assert (report.totals.solved, report.totals.not_solved, report.totals.no_match) == (2, 5, 0)


def test_questions_are_in_the_readers_language(index: FaqIndex) -> None:
    events = [shown("solved", "accesso-001")]
    assert build_report(events, index, "en", 30, NOW).helpful[0].question == (
        "Which courses have limited access (numero programmato)?"
    )


def test_a_removed_faq_shows_its_id(index: FaqIndex) -> None:
    events = [
        *[shown("suggested", GONE) for _ in range(3)],
        shown("not_solved", GONE),
        shown("solved", GONE),
    ]
    report = build_report(events, index, "it", 30, NOW)
    [refused] = report.not_helpful
    assert (refused.id, refused.question, refused.exists) == (GONE, GONE, False)
    assert refused.ratio == 0.333
    [helped] = report.helpful
    assert (helped.question, helped.exists) == (GONE, False)


def rome(stamp: str) -> str:
    """A moment on the office's clock, as the chat stamps it (UTC)."""
    moment = datetime.fromisoformat(stamp).replace(tzinfo=ROME)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def test_only_the_window_counts(index: FaqIndex) -> None:
    # NOW is 14:00 in Perugia on 14 September: a week is 8 to 14 September, whole days, as
    # the figures' week beside it, not the 168 hours since 14:00 on the 7th
    events = [
        asked("orari della biblioteca", ago(days=6)),
        asked("orari della biblioteca", ago(days=8)),
        asked("parcheggio bici", ago(days=40)),
        shown("solved", "accesso-001", at=rome("2026-09-08T00:30")),
        shown("solved", "accesso-002", at=rome("2026-09-07T23:30")),
    ]
    week = build_report(events, index, "it", 7, NOW)
    assert [(u.text, u.count) for u in week.unanswered] == [("orari della biblioteca", 1)]
    assert [h.id for h in week.helpful] == ["accesso-001"]
    assert (week.totals.questions, week.totals.solved) == (1, 1)
    assert week.window.since == "2026-09-08T00:00:00.000+02:00"
    assert week.window.until == "2026-09-14T14:00:00.000+02:00"
    assert week.window.covered_from == week.window.since
    today = build_report(events, index, "it", 1, NOW).window
    assert today.since == "2026-09-14T00:00:00.000+02:00"
    quarter = build_report(events, index, "it", 90, NOW)
    assert [(u.text, u.count) for u in quarter.unanswered] == [
        ("orari della biblioteca", 2), ("parcheggio bici", 1)
    ]


def test_a_week_over_the_clock_change_is_its_seven_days(index: FaqIndex) -> None:
    # Sunday 25 October 2026 has 25 hours in Perugia: the week still starts at midnight
    now = datetime.fromisoformat("2026-10-28T09:00:00+01:00")
    events = [
        asked("orari della biblioteca", rome("2026-10-22T00:10")),
        asked("parcheggio bici", rome("2026-10-21T23:50")),
    ]
    week = build_report(events, index, "it", 7, now)
    assert week.window.since == "2026-10-22T00:00:00.000+02:00"
    assert [u.text for u in week.unanswered] == ["orari della biblioteca"]


def test_a_refusal_of_a_suggestion_made_before_the_window_stays_within_all(
    index: FaqIndex,
) -> None:
    events = [
        *[shown("suggested", "accesso-001", at=ago(days=1)) for _ in range(3)],
        shown("suggested", "accesso-001", at=ago(days=7, hours=1)),
        *[shown("not_solved", "accesso-001", at=ago(days=1)) for _ in range(4)],
    ]
    [row] = build_report(events, index, "it", 7, NOW).not_helpful
    assert (row.suggested, row.not_solved, row.ratio) == (3, 4, 1.0)


def test_the_report_says_when_memory_did_not_reach_back_to_the_start(index: FaqIndex) -> None:
    events = [asked("orari della biblioteca", ago(days=d)) for d in (1, 2, 3)]
    cut = build_report(events, index, "it", 30, NOW, every_event=False)
    assert cut.window.covered_from == "2026-09-11T14:00:00.000+02:00"  # ago(days=3)
    whole = build_report(events, index, "it", 30, NOW).window
    assert whole.covered_from == whole.since == "2026-08-16T00:00:00.000+02:00"
    # cut, but the oldest event kept is older than the window: the window is whole
    short = build_report(events, index, "it", 2, NOW, every_event=False).window
    assert short.covered_from == short.since == "2026-09-13T00:00:00.000+02:00"


def test_the_helpful_list_keeps_the_top_twenty(index: FaqIndex) -> None:
    ids = [f.id for f in index.faqs[: HELPFUL_MAX + 5]]
    events = [shown("solved", faq_id) for n, faq_id in enumerate(ids) for _ in range(n + 1)]
    report = build_report(events, index, "it", 30, NOW)
    assert len(report.helpful) == HELPFUL_MAX
    assert report.helpful[0].id == ids[-1] and report.helpful[0].solved == len(ids)


def test_an_empty_log_gives_an_empty_report(index: FaqIndex) -> None:
    report = build_report([], index, "it", 30, NOW)
    assert (report.unanswered, report.not_helpful, report.helpful) == ([], [], [])
    assert (report.totals.questions, report.totals.solved) == (0, 0)
    assert report.window.days == 30


def test_per_faq_the_sure_the_hedged_and_the_inserted_are_counted_apart(
    index: FaqIndex,
) -> None:
    def hedged(*ids: str, at: str | None = None) -> FaqEvent:
        return replace(shown("suggested", *ids, at=at), band="middle")

    def inserted(*ids: str) -> FaqEvent:
        return FaqEvent(kind="inserted", query="", lang="it", faq_ids=list(ids), at=ago(hours=1))

    events = [
        replace(shown("suggested", "tasse-001", "tasse-002"), band="confident"),
        shown("suggested", "tasse-001"),  # recorded before the bands: shown as the answer
        hedged("tasse-002", "scadenze-005"),
        hedged("tasse-002", "tasse-002"),
        hedged("tasse-002", at=ago(days=40)),  # before the window
        inserted("scadenze-005"),
        inserted("scadenze-005", "tasse-001"),
        inserted(GONE),
        replace(asked("wifi", ago(hours=2)), band="none"),
    ]
    report = build_report(events, index, "en", 30, NOW)
    # the most hedged first: their wording misses how students ask
    assert [(u.id, u.exists, u.confident, u.middle, u.inserted) for u in report.uses] == [
        ("tasse-002", True, 1, 2, 0),
        ("scadenze-005", True, 0, 1, 2),
        ("tasse-001", True, 2, 0, 1),
        (GONE, False, 0, 0, 1),
    ]
    faq = index.get("tasse-002")
    assert faq is not None and report.uses[0].question == faq.question_in("en")
    # a hedged suggestion is still a question the assistant answered
    assert (report.totals.questions, report.totals.middle, report.totals.inserted) == (5, 2, 3)
