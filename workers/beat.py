"""Attune's beat scheduler: django-celery-beat's DatabaseScheduler, with timer rules evaluated
at second resolution and without drift.

For PeriodicTasks owned by timer rules (task `attune.fire_timer`, see apps/rules/timers.py):

- interval ticks sit on a fixed grid (anchor + n x every): after a tick the entry remembers
  the tick's ideal time, not the moment beat woke up, so lateness never adds up. After a long
  stop (beat down) one tick fires and the grid goes on; missed ticks are not replayed.
- cron timers use StackStorm's fields, `second`, `year` and `week` included (the crontab row
  plus the task's `attune_timer.cron` header), in the crontab's time zone.
- date timers fire once; `fire_timer` claims the date in the database, so a repeated message
  (beat restarted before it saved its state) does nothing.

Each tick is sent with `scheduled_at`, its ideal time, so lateness can be measured. Other
periodic tasks behave exactly as with the stock DatabaseScheduler.
"""

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery import schedules
from celery.utils.time import maybe_make_aware
from django_celery_beat.schedulers import DatabaseScheduler, ModelEntry
from django_celery_beat.utils import NEVER_CHECK_TIMEOUT

from apps.rules.cron import CronSpec, next_fire, parse_cron
from apps.rules.timers import CRONTAB_COLUMNS, FIRE_TASK, META

# How often beat looks for changed schedules at most; also its longest sleep.
MAX_LOOP_SECONDS = 1.0
# Ticks further behind than this when found due are not replayed one by one (cron).
MAX_REPLAY = 1000


@dataclass(frozen=True)
class GridInterval:
    every: timedelta

    def next_after(self, last: datetime) -> datetime:
        return last + self.every

    def latest_due(self, first_due: datetime, now: datetime) -> datetime:
        behind = max(0, math.floor((now - first_due) / self.every))
        return first_due + behind * self.every


@dataclass(frozen=True)
class SecondCron:
    spec: CronSpec

    def next_after(self, last: datetime) -> datetime | None:
        return next_fire(self.spec, last)

    def latest_due(self, first_due: datetime, now: datetime) -> datetime:
        due = first_due
        for _ in range(MAX_REPLAY):
            following = next_fire(self.spec, due)
            if following is None or following > now:
                return due
            due = following
        return now


@dataclass(frozen=True)
class OnceAt:
    moment: datetime

    def next_after(self, last: datetime) -> datetime:
        return self.moment

    def latest_due(self, first_due: datetime, now: datetime) -> datetime:
        return first_due


def timer_schedule(model):
    """The second-resolution schedule of a timer rule's PeriodicTask."""
    if model.interval is not None:
        return GridInterval(timedelta(seconds=model.interval.every))
    if model.clocked is not None:
        return OnceAt(model.clocked.clocked_time)
    crontab = model.crontab
    fields = {name: getattr(crontab, column) for name, column in CRONTAB_COLUMNS.items()}
    extra = json.loads(model.headers or "{}").get(META, {}).get("cron", {})
    return SecondCron(parse_cron({**fields, **extra, "timezone": str(crontab.timezone)}))


class TimerEntry(ModelEntry):
    """A PeriodicTask; timer rules' ones scheduled by `timer_schedule`."""

    def __init__(self, model, app=None):
        super().__init__(model, app=app)
        self.timer = timer_schedule(model) if model.task == FIRE_TASK else None
        self.due_at = None

    def is_due(self):
        if self.timer is None:
            return super().is_due()
        # State is read from the model, which every copy of this entry shares: beat may
        # rebuild its heap from an older copy, whose own attributes predate the last tick.
        model = self.model
        if not model.enabled or (model.one_off and model.total_run_count > 0):
            return schedules.schedstate(False, NEVER_CHECK_TIMEOUT)
        now = self._default_now()
        first_due = self.timer.next_after(maybe_make_aware(model.last_run_at))
        if first_due is None:
            return schedules.schedstate(False, NEVER_CHECK_TIMEOUT)
        if first_due > now:
            return schedules.schedstate(False, (first_due - now).total_seconds())
        self.due_at = self.timer.latest_due(first_due, now)
        self.kwargs = {"scheduled_at": self.due_at.isoformat()}
        following = None if self.model.one_off else self.timer.next_after(self.due_at)
        wait = NEVER_CHECK_TIMEOUT if following is None else (following - now).total_seconds()
        return schedules.schedstate(True, max(wait, 0.0))

    def __next__(self):
        if self.timer is None or self.due_at is None:
            return super().__next__()
        # The tick's ideal time, not now: the next tick is counted from the grid.
        self.model.last_run_at = self.due_at
        self.model.total_run_count += 1
        self.model.no_changes = True
        return self.__class__(self.model, app=self.app)

    def save(self):
        # One UPDATE of beat's own columns: never writes back a stale copy of the row (a rule
        # edit or a claimed date in between would be lost), and never signals a change.
        type(self.model)._default_manager.filter(pk=self.model.pk).update(
            last_run_at=self.model.last_run_at, total_run_count=self.model.total_run_count
        )


class TimerScheduler(DatabaseScheduler):
    """DatabaseScheduler with TimerEntry, a short loop, and any change of the change stamp
    (not only a later one) counted as a change."""

    Entry = TimerEntry

    def __init__(self, *args, **kwargs):
        kwargs["max_interval"] = kwargs.get("max_interval") or MAX_LOOP_SECONDS
        super().__init__(*args, **kwargs)

    def schedule_changed(self):
        last = self._last_timestamp
        changed = super().schedule_changed()
        # Two commits can stamp out of order; a different stamp is a change too.
        return changed or (last is not None and self._last_timestamp not in (None, last))
