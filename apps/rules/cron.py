"""StackStorm's cron timer fields (APScheduler's, `second` included): parse and find next fire.

Pure logic, no Django. Fields a timer leaves out default as in APScheduler: fields smaller than
the smallest one given take their minimum, the others are `*` (so `{"minute": 5}` fires at
xx:05:00 every hour). Day of month and day of week must both match (APScheduler's rule).
Days of week count from Monday = 0, as in StackStorm; names (`mon`-`sun`) work too.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from celery.schedules import ParseException, crontab_parser

# name -> (how many values, smallest), as celery's crontab_parser takes them; APScheduler's order.
FIELDS = {
    "year": (130, 1970),
    "month": (12, 1),
    "day": (31, 1),
    "week": (53, 1),
    "day_of_week": (7, 0),
    "hour": (24, 0),
    "minute": (60, 0),
    "second": (60, 0),
}
# The fields a django-celery-beat crontab holds; the others need Attune's beat scheduler.
CRONTAB_FIELDS = ("month", "day", "day_of_week", "hour", "minute")
EXTRA_FIELDS = ("year", "week", "second")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# APScheduler's values for fields smaller than the smallest one given.
DEFAULTS = {
    "year": "*",
    "month": "1",
    "day": "1",
    "week": "*",
    "day_of_week": "*",
    "hour": "0",
    "minute": "0",
    "second": "0",
}
MAX_STEPS = 20000


class CronError(ValueError):
    """A cron field or time zone that cannot be used; `field` names it."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class CronSpec:
    """Sets of allowed values per field; `day_of_week` in Python's numbering (Monday = 0)."""

    years: frozenset
    months: frozenset
    days: frozenset
    weeks: frozenset
    weekdays: frozenset
    hours: frozenset
    minutes: frozenset
    seconds: frozenset
    tz: ZoneInfo


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CronError("timezone", f"unknown time zone {name!r}") from exc


def normalized_fields(parameters: dict) -> dict[str, str]:
    """Every field as a string, with APScheduler's defaults filled in."""
    given = {k: str(v).strip().lower() for k, v in parameters.items() if k in FIELDS}
    names = list(FIELDS)
    last_given = max((names.index(k) for k in given), default=len(names))
    return {
        name: given.get(name, DEFAULTS[name] if i > last_given else "*")
        for i, name in enumerate(names)
    }


def weekday_names(spec: str) -> str:
    """Rewrite StackStorm's numeric days (Monday = 0) as names, leaving steps alone."""
    parts = []
    for part in spec.split(","):
        body, slash, step = part.partition("/")
        days = [WEEKDAYS[int(d)] if d.isdigit() and int(d) < 7 else d for d in body.split("-")]
        parts.append("-".join(days) + slash + step)
    return ",".join(parts)


def parse_field(name: str, spec: str) -> frozenset:
    count, min_ = FIELDS[name]
    if name == "day_of_week":
        spec = weekday_names(spec)
    try:
        values = crontab_parser(count, min_).parse(spec)
    except (ParseException, ValueError, IndexError, KeyError) as exc:
        raise CronError(name, f"invalid {name} {spec!r}") from exc
    if not values or any(not min_ <= v < min_ + count for v in values):
        raise CronError(name, f"{name} {spec!r} is out of range {min_}-{min_ + count - 1}")
    if name == "day_of_week":  # celery counts from Sunday = 0
        values = {(v - 1) % 7 for v in values}
    return frozenset(values)


def parse_cron(parameters: dict) -> CronSpec:
    """Parse a CronTimer's parameters; raise CronError naming the bad field."""
    fields = {name: parse_field(name, spec) for name, spec in normalized_fields(parameters).items()}
    return CronSpec(
        years=fields["year"],
        months=fields["month"],
        days=fields["day"],
        weeks=fields["week"],
        weekdays=fields["day_of_week"],
        hours=fields["hour"],
        minutes=fields["minute"],
        seconds=fields["second"],
        tz=zone(parameters.get("timezone")),
    )


def next_fire(spec: CronSpec, after: datetime) -> datetime | None:
    """The first whole second strictly after `after` that the spec allows (None: never)."""
    t = after.astimezone(spec.tz).replace(tzinfo=None, microsecond=0) + timedelta(seconds=1)
    for _ in range(MAX_STEPS):
        if t.year > 2099:
            return None
        if t.year not in spec.years:
            t = datetime(t.year + 1, 1, 1)
        elif t.month not in spec.months:
            t = (t.replace(day=1, hour=0, minute=0, second=0) + timedelta(days=32)).replace(day=1)
        elif (
            t.day not in spec.days
            or t.weekday() not in spec.weekdays
            or t.isocalendar().week not in spec.weeks
        ):
            t = t.replace(hour=0, minute=0, second=0) + timedelta(days=1)
        elif t.hour not in spec.hours:
            t = t.replace(minute=0, second=0) + timedelta(hours=1)
        elif t.minute not in spec.minutes:
            t = t.replace(second=0) + timedelta(minutes=1)
        else:
            second = min((s for s in spec.seconds if s >= t.second), default=None)
            if second is None:
                t = t.replace(second=0) + timedelta(minutes=1)
                continue
            found = t.replace(second=second, tzinfo=spec.tz)
            # A wall time skipped by a DST change maps back to another instant: skip it.
            if found.astimezone(ZoneInfo("UTC")).astimezone(spec.tz).replace(
                tzinfo=None
            ) != found.replace(tzinfo=None):
                t = t.replace(second=second) + timedelta(seconds=1)
                continue
            return found
    return None
