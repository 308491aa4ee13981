"""StackStorm cron timer fields: APScheduler defaults, weekday numbering, next fire time."""

from datetime import UTC, datetime

import pytest

from apps.rules.cron import CronError, next_fire, normalized_fields, parse_cron

START = datetime(2025, 1, 1, 0, 0, 3, 500000, tzinfo=UTC)  # a Wednesday


def fires(parameters: dict, after: datetime = START, count: int = 3) -> list[str]:
    spec, times = parse_cron(parameters), []
    for _ in range(count):
        after = next_fire(spec, after)
        times.append(after.isoformat())
    return times


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        ({"second": "*/5"}, ["00:00:05", "00:00:10", "00:00:15"]),
        ({"minute": "*/2"}, ["00:02:00", "00:04:00", "00:06:00"]),
        ({"hour": 6, "minute": 30}, ["06:30:00", "06:30:00", "06:30:00"]),
    ],
)
def test_fields_left_out_follow_apscheduler(parameters, expected):
    assert [t[11:19] for t in fires(parameters)] == expected


def test_smaller_fields_than_the_smallest_given_take_their_minimum():
    fields = normalized_fields({"day_of_week": "mon"})
    assert (fields["hour"], fields["minute"], fields["second"]) == ("0", "0", "0")
    assert normalized_fields({"hour": 5, "second": 0})["minute"] == "*"


def test_days_of_week_count_from_monday_as_in_stackstorm():
    monday = datetime(2025, 1, 6, tzinfo=UTC)
    assert parse_cron({"day_of_week": 0}).weekdays == {0}
    assert parse_cron({"day_of_week": "0-4"}).weekdays == {0, 1, 2, 3, 4}
    assert next_fire(parse_cron({"day_of_week": "0", "hour": 9}), START).date() == monday.date()


def test_time_zone_applies_to_the_fields():
    [first] = fires({"hour": 9, "minute": 0, "timezone": "Europe/Paris"}, count=1)
    assert first == "2025-01-01T09:00:00+01:00"


def test_a_wall_time_skipped_by_dst_is_not_fired():
    spec = parse_cron({"hour": 2, "minute": 30, "timezone": "Europe/Paris"})
    fired = next_fire(spec, datetime(2025, 3, 29, 12, tzinfo=UTC))
    assert fired.isoformat() == "2025-03-31T02:30:00+02:00"


def test_impossible_date_is_found_years_ahead():
    assert next_fire(parse_cron({"month": 2, "day": 29}), START).year == 2028


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({"second": "*/x"}, "second"),
        ({"hour": "25"}, "hour"),
        ({"day_of_week": "7"}, "day_of_week"),
        ({"year": "1900"}, "year"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
    ],
)
def test_bad_field_is_named(parameters, field):
    with pytest.raises(CronError) as error:
        parse_cron(parameters)
    assert error.value.field == field
