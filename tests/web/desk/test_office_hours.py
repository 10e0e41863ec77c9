"""The office's hours: when it is open, when it reopens, how much of its working time lies
between two moments, and the settings an IT person writes to say so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from web.config import Config, ConfigError
from web.desk.office_hours import OFFICE_TZ, OfficeHours
from web.desk.waiting import Pace, queue_of

HOURS = "mon-fri 09:00-13:00; tue,thu 14:30-16:30"
CLOSED = "2026-12-24..2027-01-06, 01-29"


def rome(*args: int) -> datetime:
    return datetime(*args, tzinfo=OFFICE_TZ)  # type: ignore[misc]


@pytest.fixture
def office() -> OfficeHours:
    return OfficeHours.parse(HOURS, CLOSED)


def test_open_within_the_hours_and_closed_between_them(office: OfficeHours) -> None:
    thursday = rome(2026, 12, 3, 10, 0)
    assert office.opens_at(thursday) is None
    # lunch: the afternoon's hours, the same day
    assert office.opens_at(rome(2026, 12, 3, 13, 30)) == rome(2026, 12, 3, 14, 30)
    # Friday evening: Monday morning
    assert office.opens_at(rome(2026, 12, 4, 23, 0)) == rome(2026, 12, 7, 9, 0)


def test_public_holidays_and_listed_closures_close_the_office(office: OfficeHours) -> None:
    # Monday afternoon: Tuesday 8 December is the Immaculate Conception, so Wednesday
    assert office.opens_at(rome(2026, 12, 7, 13, 30)) == rome(2026, 12, 9, 9, 0)
    # the Christmas closure listed as a range, then Epiphany is its last day
    assert office.opens_at(rome(2026, 12, 23, 13, 30)) == rome(2027, 1, 7, 9, 0)
    # 01-29 every year (Perugia's patron saint): Friday 29 January 2027 is closed
    assert office.opens_at(rome(2027, 1, 28, 16, 30)) == rome(2027, 2, 1, 9, 0)
    # St Francis' day, a public holiday from 2026 on, needs no listing
    assert office.opens_at(rome(2027, 10, 1, 13, 0)) == rome(2027, 10, 5, 9, 0)


def test_working_time_between_two_moments(office: OfficeHours) -> None:
    # Friday 23:00 to Wednesday 10:00: Monday's four hours and Wednesday's first hour
    assert office.working_seconds(rome(2026, 12, 4, 23, 0), rome(2026, 12, 9, 10, 0)) == 5 * 3600
    # forty working minutes asked for on Friday night are answered on Monday at 9:40
    assert office.after_working(rome(2026, 12, 4, 23, 0), 40 * 60) == rome(2026, 12, 7, 9, 40)
    # an hour asked for at 12:30 on Thursday: half an hour before lunch, half after
    assert office.after_working(rome(2026, 12, 3, 12, 30), 3600) == rome(2026, 12, 3, 15, 0)


def test_the_days_the_clocks_change_keep_their_wall_clock_hours() -> None:
    always = OfficeHours.parse("mon-sun 00:00-24:00")
    # Sunday 29 March 2026 has 23 hours, Sunday 25 October 2026 has 25
    march = always.working_seconds(rome(2026, 3, 29, 0, 0), rome(2026, 3, 30, 0, 0))
    october = always.working_seconds(rome(2026, 10, 25, 0, 0), rome(2026, 10, 26, 0, 0))
    assert (march, october) == (23 * 3600, 25 * 3600)
    mornings = OfficeHours.parse("mon-sun 09:00-13:00")
    assert mornings.working_seconds(rome(2026, 3, 29, 0, 0), rome(2026, 3, 30, 0, 0)) == 4 * 3600


@pytest.mark.parametrize(
    ("hours", "closed", "says"),
    [
        ("mon-fri", "", "give the days, then the hours"),
        ("mon-fri 9-13", "", "'9-13' is not a span of hours"),
        ("lun-ven 09:00-13:00", "", "'lun-ven' is not a weekday"),
        ("fri-mon 09:00-13:00", "", "a range of days goes from Monday to Sunday"),
        ("mon 13:00-09:00", "", "'13:00-09:00' ends before it starts"),
        ("mon 25:00-26:00", "", "25:00 is not a time of day"),
        ("mon 09:00-12:00,11:00-13:00", "", "the hours of mon overlap"),
        ("mon-fri 09:00-13:00", "24/12/2026", "'24/12/2026' is not a date"),
        ("mon-fri 09:00-13:00", "2027-01-06..2026-12-24", "ends before it starts"),
        ("mon-fri 09:00-13:00", "02-30", "'2000-02-30' is not a date"),
        ("", "2026-12-24", "HELPDESK_OFFICE_CLOSED needs HELPDESK_OFFICE_HOURS"),
    ],
)
def test_settings_it_cannot_read_are_refused_naming_the_part(
    hours: str, closed: str, says: str
) -> None:
    environ = {"HELPDESK_OFFICE_HOURS": hours, "HELPDESK_OFFICE_CLOSED": closed}
    with pytest.raises(ConfigError, match=says):
        Config.from_env(environ)


def test_the_settings_are_read_once_into_the_config() -> None:
    config = Config.from_env({"HELPDESK_OFFICE_HOURS": HOURS, "HELPDESK_OFFICE_CLOSED": CLOSED})
    assert config.office_hours == OfficeHours.parse(HOURS, CLOSED)
    assert Config.from_env({}).office_hours is None


def test_the_pace_counts_only_working_time(office: OfficeHours) -> None:
    # three tickets of Friday evening, each answered on Monday 20 minutes into the morning
    # and one a minute after the other: 20 working minutes each, a minute's pace
    answers = [
        ((rome(2026, 12, 7, 9, 20) + timedelta(minutes=i)).astimezone(UTC).isoformat(),
         (rome(2026, 12, 7, 9, 20) - rome(2026, 12, 4, 20, 0)).total_seconds() + 60 * i)
        for i in range(3)
    ]
    pace = Pace.of(answers, office)
    assert pace is not None
    assert (pace.median, pace.interval) == (20 * 60 + 60, 60)
    # without the hours, the weekend counts: two and a half days
    wall = Pace.of(answers)
    assert wall is not None and wall.median > 60 * 3600


def test_the_queue_says_when_the_office_reopens_and_when_to_expect_the_answer(
    office: OfficeHours,
) -> None:
    pace = Pace(median=20 * 60, interval=60)
    friday_night = rome(2026, 12, 4, 23, 0)
    assert queue_of(3, pace, office, friday_night) == {
        "position": 3,
        "expected_wait_minutes": 58 * 60 + 20,  # Monday 9:20, in minutes of the clock
        "expected_at": "2026-12-07T08:20:00.000+00:00",
        "office": {"open": False, "opens_at": "2026-12-07T08:00:00.000+00:00"},
    }
    thursday = rome(2026, 12, 3, 10, 0)
    assert queue_of(1, pace, office, thursday) == {
        "position": 1,
        "expected_wait_minutes": 20,
        "expected_at": "2026-12-03T09:20:00.000+00:00",
        "office": {"open": True, "opens_at": None},
    }
    # no answer in the last 7 days: whether it is open, and no invented figure
    assert queue_of(1, None, office, thursday) == {
        "position": 1, "expected_wait_minutes": None, "expected_at": None,
        "office": {"open": True, "opens_at": None},
    }
