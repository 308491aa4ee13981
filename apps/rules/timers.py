"""Timer rules: each rule on a timer trigger owns one django-celery-beat PeriodicTask.

The task (`rule-timer:<rule id>`, task `attune.fire_timer`, args `[rule_id]`) is created,
changed, paused and deleted with its rule. Its schedule row is what an operator sees in the
admin:

- IntervalTimer: an IntervalSchedule of `delta` x `unit` seconds.
- CronTimer: a CrontabSchedule (minute, hour, day, month, day of week, time zone). StackStorm's
  fields a crontab cannot hold (`second`, `year`, `week`) are kept in the task's `headers` under
  `attune_timer.cron`; Attune's beat scheduler (workers/beat.py) evaluates the whole spec at
  second resolution.
- DateTimer: a one-off ClockedSchedule. `fire_timer` claims the row (fired_at, enabled=False)
  in the same transaction as the trigger instance, so a beat restart or a repeated message
  neither loses nor repeats the date. A date already past when the timer is armed fires once
  at once, and the instance's note says so.

Rules with identical timer parameters share a trigger (one `trigger_key`), and the rules engine
enforces every rule of a key on each instance. So one tick must make one instance: for
interval and cron timers the lowest-id enabled rule of the key fires and the others' ticks are
skipped; for date timers the first to fire marks its siblings' dates fired too.
"""

import json
import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
)

from apps.rules.cron import (
    CRONTAB_FIELDS,
    EXTRA_FIELDS,
    CronError,
    normalized_fields,
    parse_cron,
    weekday_names,
    zone,
)
from apps.rules.models import Rule
from apps.triggers.choices import TriggerSource
from apps.triggers.services import dispatch_trigger

logger = logging.getLogger(__name__)

INTERVAL = "core.st2.IntervalTimer"
DATE = "core.st2.DateTimer"
CRON = "core.st2.CronTimer"
TIMER_TYPES = (INTERVAL, DATE, CRON)
FIRE_TASK = "attune.fire_timer"
TASK_PREFIX = "rule-timer:"
META = "attune_timer"
UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400, "weeks": 604800}
CRONTAB_COLUMNS = {
    "minute": "minute",
    "hour": "hour",
    "day": "day_of_month",
    "month": "month_of_year",
    "day_of_week": "day_of_week",
}
# A date timer firing later than this after its date says so in the instance's note.
LATE_NOTE_SECONDS = 2.0


def task_name(rule_id: int) -> str:
    return f"{TASK_PREFIX}{rule_id}"


# --- parameters -------------------------------------------------------------------------------


def parse_date(parameters: dict) -> datetime:
    """A DateTimer's moment (naive dates are in `timezone`, default UTC); CronError if bad."""
    tz = zone(parameters.get("timezone"))
    raw = str(parameters.get("date", "")).strip()
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as exc:
        message = f"cannot read date {raw!r}; use ISO 8601, e.g. 2030-01-31 12:00:00"
        raise CronError("date", message) from exc
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment


def timer_parameter_errors(trigger_ref: str, parameters: dict) -> list[tuple[str, str]]:
    """(parameter, message) for each timer parameter that cannot be scheduled."""
    try:
        if trigger_ref == DATE:
            parse_date(parameters)
        elif trigger_ref == CRON:
            parse_cron(parameters)
        elif trigger_ref == INTERVAL:
            zone(parameters.get("timezone"))
    except CronError as exc:
        return [(exc.field, str(exc))]
    return []


# --- schedules --------------------------------------------------------------------------------


def interval_schedule(parameters: dict) -> dict:
    seconds = int(parameters["delta"]) * UNIT_SECONDS[parameters["unit"]]
    schedule, _ = IntervalSchedule.objects.get_or_create(
        every=seconds, period=IntervalSchedule.SECONDS
    )
    return {"interval": schedule, "one_off": False, "spec": {}}


def cron_schedule(parameters: dict) -> dict:
    fields = normalized_fields(parameters)
    columns = {CRONTAB_COLUMNS[name]: fields[name] for name in CRONTAB_FIELDS}
    columns["day_of_week"] = weekday_names(columns["day_of_week"])  # names: no numbering doubt
    schedule, _ = CrontabSchedule.objects.get_or_create(
        **columns, timezone=parameters.get("timezone") or "UTC"
    )
    extra = {name: fields[name] for name in EXTRA_FIELDS}
    if extra == {"year": "*", "week": "*", "second": "0"}:
        extra = {}  # a plain crontab: any beat can run it
    return {"crontab": schedule, "one_off": False, "spec": {"cron": extra} if extra else {}}


def date_schedule(parameters: dict) -> dict:
    moment = parse_date(parameters)
    schedule, _ = ClockedSchedule.objects.get_or_create(clocked_time=moment)
    return {"clocked": schedule, "one_off": True, "spec": {"date": moment.isoformat()}}


SCHEDULE_BUILDERS = {INTERVAL: interval_schedule, CRON: cron_schedule, DATE: date_schedule}


def timer_meta(task: PeriodicTask) -> dict:
    return json.loads(task.headers or "{}").get(META, {})


def set_timer_meta(task: PeriodicTask, meta: dict) -> None:
    headers = json.loads(task.headers or "{}")
    headers[META] = meta
    task.headers = json.dumps(headers, sort_keys=True)


def sync_rule_timer(rule: Rule) -> PeriodicTask | None:
    """Make the rule's PeriodicTask match it: one if it is a timer rule, none otherwise."""
    if rule.trigger_ref not in TIMER_TYPES:
        remove_rule_timer(rule.pk)
        return None
    wanted = SCHEDULE_BUILDERS[rule.trigger_ref](rule.trigger_parameters)
    task = PeriodicTask.objects.filter(name=task_name(rule.pk)).first()
    if task is None or not same_schedule(task, wanted):
        return arm_timer(rule, task or PeriodicTask(name=task_name(rule.pk)), wanted)
    is_enabled = rule.is_enabled and not timer_meta(task).get("fired_at")
    if task.enabled != is_enabled:
        task.enabled = is_enabled
        task.last_run_at = timezone.now()  # resumed: the next tick is one period from now
        task.save()
        logger.info("rule_id=%s timer enabled=%s", rule.pk, is_enabled)
    return task


def same_schedule(task: PeriodicTask, wanted: dict) -> bool:
    return (
        task.interval_id == getattr(wanted.get("interval"), "pk", None)
        and task.crontab_id == getattr(wanted.get("crontab"), "pk", None)
        and task.clocked_id == getattr(wanted.get("clocked"), "pk", None)
        and {k: v for k, v in timer_meta(task).items() if k in ("cron", "date")} == wanted["spec"]
    )


def arm_timer(rule: Rule, task: PeriodicTask, wanted: dict) -> PeriodicTask:
    """(Re)start the task on a new schedule: a new anchor, and a date not fired yet."""
    task.task = FIRE_TASK
    task.args = json.dumps([rule.pk])
    task.kwargs = "{}"
    task.interval = wanted.get("interval")
    task.crontab = wanted.get("crontab")
    task.clocked = wanted.get("clocked")
    task.one_off = wanted["one_off"]
    task.enabled = rule.is_enabled
    # The anchor: interval ticks fall at armed_at + n x every.
    task.last_run_at = timezone.now()
    task.total_run_count = 0
    task.description = f"Timer of rule {rule.ref} ({rule.trigger_ref})"
    set_timer_meta(task, {**wanted["spec"], "armed_at": task.last_run_at.isoformat()})
    task.save()
    logger.info("rule_id=%s timer armed: %s", rule.pk, task.schedule)
    return task


def remove_rule_timer(rule_id: int) -> None:
    """Delete the rule's PeriodicTask, if it has one."""
    for task in PeriodicTask.objects.filter(name=task_name(rule_id)):
        task.delete()  # one by one: the delete signal tells beat the schedule changed
        logger.info("rule_id=%s timer removed", rule_id)


# --- firing -----------------------------------------------------------------------------------


def fire_timer(rule_id: int, scheduled_at: str | None = None):
    """Dispatch one tick of a timer rule; skip it if the rule is gone, disabled or not the
    one that fires for its trigger (see the module docstring). Safe to run twice for a date."""
    now = timezone.now()
    with transaction.atomic():
        # Locking the rule serialises ticks of one rule against its own edits and deletion.
        rule = Rule.objects.select_for_update().filter(pk=rule_id).first()
        if rule is None:
            remove_rule_timer(rule_id)  # its rule went without after_delete (e.g. a cascade)
            logger.info("rule_id=%s timer tick skipped: rule gone", rule_id)
            return None
        if not rule.is_enabled or rule.trigger_ref not in TIMER_TYPES:
            logger.info("rule_id=%s timer tick skipped: rule disabled or changed", rule_id)
            return None
        if rule.trigger_ref == DATE:
            note = claim_date(rule, now, scheduled_at)
            if note is None:
                return None
        elif Rule.objects.enabled().filter(trigger_key=rule.trigger_key, pk__lt=rule.pk).exists():
            logger.debug("rule_id=%s tick left to the first rule of its trigger", rule_id)
            return None
        else:
            note = ""
        payload = {"executed_at": now.isoformat(), "schedule": rule.trigger_parameters}
        return dispatch_trigger(
            rule.trigger_ref,
            payload,
            source=TriggerSource.TIMER,
            parameters=rule.trigger_parameters,
            source_detail=f"rule {rule.ref}; scheduled {scheduled_at or '-'}",
            note=note,
        )


def claim_date(rule: Rule, now: datetime, scheduled_at: str | None) -> str | None:
    """Mark the rule's date fired (with its siblings'); return the instance note, or None if
    it fired already or the message is for a date the rule no longer has."""
    task = PeriodicTask.objects.select_for_update().filter(name=task_name(rule.pk)).first()
    meta = timer_meta(task) if task else {}
    if task is None or meta.get("fired_at"):
        logger.info("rule_id=%s date timer already fired", rule.pk)
        return None
    date = datetime.fromisoformat(meta["date"])
    if scheduled_at and datetime.fromisoformat(scheduled_at) != date:
        logger.info("rule_id=%s stale date tick for %s skipped", rule.pk, scheduled_at)
        return None
    siblings = PeriodicTask.objects.select_for_update().filter(
        name__in=[
            task_name(pk)
            for pk in Rule.objects.enabled()
            .filter(trigger_key=rule.trigger_key)
            .values_list("pk", flat=True)
        ]
    )
    for each in siblings:
        if not timer_meta(each).get("fired_at"):
            set_timer_meta(each, {**timer_meta(each), "fired_at": now.isoformat()})
            each.enabled = False
            each.save()
    return date_note(date, datetime.fromisoformat(meta["armed_at"]), now)


def date_note(date: datetime, armed_at: datetime, now: datetime) -> str:
    if date < armed_at:
        return f"date {date.isoformat()} was in the past; fired at registration"
    late = (now - date).total_seconds()
    if late > LATE_NOTE_SECONDS:
        return f"date {date.isoformat()} fired {late:.0f} s late (beat was not running?)"
    return ""
