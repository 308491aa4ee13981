"""Timer rules end to end: interval, date and cron timers through beat, the rules engine and
the worker (T1.1, T1.2, T1.3, T3.1, T3.2, T3.3, T3.24).

Most timers run side by side: the `timers` fixture creates every rule at once, and each test
waits until its own rule's window is over, deletes the rule and counts what it caused. A window
ends between two ticks (never within half a second of one), so the counts are exact.
Past dates fire at once and say so in the instance's note (T3.1: we fire rather than refuse).
"""

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from django_celery_beat.models import PeriodicTask

from apps.rules.models import Rule
from apps.rules.timers import task_name, timer_meta
from tests.support.events import create_rule, unique

pytestmark = pytest.mark.e2e

ECHO = {"ref": "core.echo", "parameters": {"message": "tick {{ trigger.executed_at }}"}}
DRAIN_SECONDS = 20.0


def interval(seconds: int, **extra) -> dict:
    parameters = {"unit": "seconds", "delta": seconds, **extra}
    return {"type": "core.st2.IntervalTimer", "parameters": parameters}


def date_timer(moment: datetime) -> dict:
    return {"type": "core.st2.DateTimer", "parameters": {"date": moment.isoformat()}}


def cron(**fields) -> dict:
    return {"type": "core.st2.CronTimer", "parameters": fields}


def now() -> datetime:
    return datetime.now(UTC)


# --- the live side --------------------------------------------------------------------------------


def timer_task(rule_ref: str) -> PeriodicTask | None:
    rule = Rule.objects.get(ref=rule_ref)
    return PeriodicTask.objects.filter(name=task_name(rule.pk)).first()


def armed_at(rule_ref: str, django_db_blocker) -> datetime:
    with django_db_blocker.unblock():
        return datetime.fromisoformat(timer_meta(timer_task(rule_ref))["armed_at"])


def patch_rule(api, ref: str, body: dict) -> None:
    api.session.patch(f"{api.base_url}/api/v1/rules/{ref}", json=body).raise_for_status()


def delete_rule(api, ref: str) -> None:
    response = api.session.delete(f"{api.base_url}/api/v1/rules/{ref}")
    assert response.status_code in (204, 404), response.text


def list_all(api, path: str, params: dict) -> list[dict]:
    """Every row of a cursor-paginated list."""
    rows, url, query = [], f"{api.base_url}{path}", {**params, "page_size": 500}
    while url:
        page = api.session.get(url, params=query, timeout=30).json()
        rows += page["results"]
        url, query = page.get("next"), None
    return rows


def timer_instances(api, rule_ref: str) -> list[dict]:
    """Trigger instances the rule's own timer dispatched, oldest first."""
    found = list_all(api, "/api/v1/triggerinstances", {"source": "timer"})
    mine = [i for i in found if i["source_detail"].startswith(f"rule {rule_ref};")]
    return sorted(mine, key=lambda i: i["id"])


def scheduled_at(instance: dict) -> datetime:
    return datetime.fromisoformat(instance["source_detail"].rsplit("scheduled ", 1)[1])


def occurred_at(instance: dict) -> datetime:
    return datetime.fromisoformat(instance["occurred_at"].replace("Z", "+00:00"))


def enforcements(api, rule_ref: str) -> list[dict]:
    return sorted(
        list_all(api, "/api/v1/enforcements", {"rule_ref": rule_ref}), key=lambda e: e["id"]
    )


def finished_executions(api, rule_ref: str) -> list[dict]:
    """Wait until every enforcement of the rule has a finished execution; return them."""
    found = enforcements(api, rule_ref)
    return [api.wait_for(e["execution"], timeout=DRAIN_SECONDS) for e in found]


def wait_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - now()).total_seconds()))


def wait_for_count(api, rule_ref: str, count: int, timeout: float = DRAIN_SECONDS) -> list:
    deadline = time.monotonic() + timeout
    while len(found := enforcements(api, rule_ref)) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{rule_ref}: {len(found)} enforcements, wanted {count}")
        time.sleep(0.2)
    return found


def settle() -> None:
    """Give ticks already sent time to reach the rules engine."""
    time.sleep(1.5)


def assert_one_of_each_per_tick(api, rule_ref: str, instances: list[dict]) -> list[dict]:
    """Each instance: exactly one enforcement of the rule, matched, with a succeeded execution."""
    # The last tick may still be in the rules engine on a loaded machine: wait for its row.
    found = wait_for_count(api, rule_ref, len(instances))
    assert sorted(e["trigger_instance"] for e in found) == [i["id"] for i in instances]
    assert {e["status"] for e in found} == {"matched"}
    executions = finished_executions(api, rule_ref)
    assert [x["status"] for x in executions] == ["succeeded"] * len(instances)
    assert all(x["action"] == "core.echo" for x in executions)
    return executions


def assert_on_grid(instances: list[dict], anchor: datetime, every: timedelta) -> None:
    """Scheduled ticks are anchor + every, + 2 every, ... with none missing or repeated."""
    ticks = [scheduled_at(i) for i in instances]
    assert ticks == [anchor + every * n for n in range(1, len(ticks) + 1)]


# --- the timers, all started together -------------------------------------------------------------

WINDOWS = {  # name -> (seconds the rule lives, ticks expected)
    "every2": (7.0, 3),  # T1.1: ticks at 2, 4, 6
    "every3": (16.0, 5),  # T3.3: 3 .. 15
    "every5": (16.0, 3),  # 5, 10, 15
    "every7": (16.0, 2),  # 7, 14
    "shared_a": (10.0, 2),  # two rules on one 4 s trigger: 4, 8
    "shared_b": (10.0, 0),  # ... all dispatched by shared_a's timer
    "every1": (60.5, 60),  # T3.24: 1 .. 60
}


@pytest.fixture(scope="module")
def timers(admin_api, django_db_blocker) -> dict:
    """Create every timer rule of this module at once; return {name: rule ref}."""
    past = now()
    specs = {
        "every2": interval(2),
        "every3": interval(3),
        "every5": interval(5),
        "every7": interval(7),
        "shared_a": interval(4),
        "shared_b": interval(4),
        "every1": interval(1),
        "toggle": interval(1, timezone="UTC"),  # a trigger of its own, not every1's
        "cron5": cron(second="*/5"),
        "date_soon": date_timer(past + timedelta(seconds=3)),
        "past_2s": date_timer(past - timedelta(seconds=2)),
        "past_1h": date_timer(past - timedelta(hours=1)),
        "past_1y": date_timer(past - timedelta(days=365)),
    }
    refs = {
        name: create_rule(admin_api, unique(name), trigger, ECHO)["ref"]
        for name, trigger in specs.items()
    }
    yield refs
    for ref in refs.values():
        delete_rule(admin_api, ref)


def run_windows(api, refs: dict, names: list[str], django_db_blocker) -> dict:
    """Let each rule tick for its window and delete it; return {name: (instances, anchor)}."""
    anchors = {name: armed_at(refs[name], django_db_blocker) for name in names}
    for name in sorted(names, key=lambda n: anchors[n] + timedelta(seconds=WINDOWS[n][0])):
        wait_until(anchors[name] + timedelta(seconds=WINDOWS[name][0]))
        delete_rule(api, refs[name])
    settle()
    return {name: (timer_instances(api, refs[name]), anchors[name]) for name in names}


# --- refusals and schedules (instant) -------------------------------------------------------------


def test_unreadable_date_is_refused_naming_the_parameter(admin_api):
    trigger = {"type": "core.st2.DateTimer", "parameters": {"date": "next tuesday"}}
    body = {"name": unique("baddate"), "trigger": trigger, "action": ECHO}

    response = admin_api.post("/api/v1/rules", body)

    assert response.status_code == 400
    assert "trigger.parameters.date" in response.json()["detail"]
    assert admin_api.get(f"/api/v1/rules/default.{body['name']}").status_code == 404


def test_bad_cron_field_is_refused_naming_the_field(admin_api):
    body = {"name": unique("badcron"), "trigger": cron(second="*/x"), "action": ECHO}

    response = admin_api.post("/api/v1/rules", body)

    assert response.status_code == 400
    assert "trigger.parameters.second" in response.json()["detail"]


def test_five_field_cron_is_scheduled_as_a_crontab_in_its_time_zone(admin_api, live_db):
    trigger = cron(minute="*/15", hour="9-17", day_of_week="0-4", timezone="Europe/Paris")
    rule = create_rule(admin_api, unique("office"), trigger, ECHO)
    rule_id = Rule.objects.get(ref=rule["ref"]).pk
    try:
        task = timer_task(rule["ref"])
        assert task.enabled and task.task == "attune.fire_timer"
        assert json.loads(task.args) == [rule_id]
        crontab = task.crontab
        assert (crontab.minute, crontab.hour, crontab.day_of_week) == ("*/15", "9-17", "mon-fri")
        assert (crontab.day_of_month, crontab.month_of_year) == ("*", "*")
        assert str(crontab.timezone) == "Europe/Paris"
        assert "cron" not in timer_meta(task)  # nothing a plain crontab cannot say
    finally:
        delete_rule(admin_api, rule["ref"])
    assert not PeriodicTask.objects.filter(name=task_name(rule_id)).exists()


# --- dates and intervals --------------------------------------------------------------------------


def test_dates_in_the_past_fire_once_at_once_and_say_so(admin_api, timers):
    for name in ("past_2s", "past_1h", "past_1y"):
        [enforcement] = wait_for_count(admin_api, timers[name], 1)
        [instance] = timer_instances(admin_api, timers[name])
        assert "was in the past; fired at registration" in instance["note"]
        assert admin_api.wait_for(enforcement["execution"])["status"] == "succeeded"
    settle()
    for name in ("past_2s", "past_1h", "past_1y"):
        assert len(enforcements(admin_api, timers[name])) == 1


def test_interval_timer_ticks_every_n_seconds_with_one_execution_per_tick(
    admin_api, timers, django_db_blocker
):
    [(instances, anchor)] = run_windows(admin_api, timers, ["every2"], django_db_blocker).values()

    assert len(instances) == WINDOWS["every2"][1]
    assert_on_grid(instances, anchor, timedelta(seconds=2))
    times = [occurred_at(i) for i in instances]
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    # Roughly 2 s apart as observed (the exact grid is checked above; lateness is the bench's).
    assert all(1.0 < gap < 3.0 for gap in gaps), gaps
    assert all(i["payload"]["schedule"] == {"unit": "seconds", "delta": 2} for i in instances)
    assert all(datetime.fromisoformat(i["payload"]["executed_at"]) for i in instances)
    executions = assert_one_of_each_per_tick(admin_api, timers["every2"], instances)
    assert all(x["stdout"].startswith("tick 20") for x in executions)


def test_date_timer_fires_exactly_once(admin_api, timers, django_db_blocker):
    ref = timers["date_soon"]
    with django_db_blocker.unblock():
        date = datetime.fromisoformat(timer_meta(timer_task(ref))["date"])

    wait_until(date + timedelta(seconds=4))

    [instance] = timer_instances(admin_api, ref)
    assert scheduled_at(instance) == date
    assert instance["note"] == ""
    assert instance["payload"]["schedule"] == {"date": date.isoformat()}
    assert_one_of_each_per_tick(admin_api, ref, [instance])
    with django_db_blocker.unblock():
        assert timer_task(ref).enabled is False


# --- more intervals, crons ------------------------------------------------------------------------


def test_two_rules_on_one_timer_share_its_ticks(admin_api, timers, django_db_blocker):
    names = ["shared_a", "shared_b"]
    (instances, anchor), _ = run_windows(admin_api, timers, names, django_db_blocker).values()
    assert len(instances) == WINDOWS["shared_a"][1]
    assert timer_instances(admin_api, timers["shared_b"]) == []  # its ticks left to shared_a
    assert_on_grid(instances, anchor, timedelta(seconds=4))
    for name in ("shared_a", "shared_b"):
        assert_one_of_each_per_tick(admin_api, timers[name], instances)


def test_timers_of_different_periods_fire_independently(admin_api, timers, django_db_blocker):
    names = ["every3", "every5", "every7"]
    results = run_windows(admin_api, timers, names, django_db_blocker)

    for name, (instances, anchor) in results.items():
        assert len(instances) == WINDOWS[name][1], name
        assert_on_grid(instances, anchor, timedelta(seconds=int(name[5:])))
        assert_one_of_each_per_tick(admin_api, timers[name], instances)


def test_cron_with_seconds_fires_on_the_right_seconds(admin_api, timers):
    ref = timers["cron5"]
    wait_for_count(admin_api, ref, 3)
    delete_rule(admin_api, ref)
    settle()

    instances = timer_instances(admin_api, ref)
    ticks = [scheduled_at(i) for i in instances]
    assert len(ticks) >= 3
    assert all(t.second % 5 == 0 and t.microsecond == 0 for t in ticks), ticks
    gaps = [(b - a).total_seconds() for a, b in zip(ticks, ticks[1:], strict=False)]
    assert gaps == [5.0] * (len(ticks) - 1)
    # Dispatched at or after its second, not before (how late is the bench's business).
    assert all(occurred_at(i) >= scheduled_at(i) for i in instances)
    assert_one_of_each_per_tick(admin_api, ref, instances)


def test_disable_stops_ticks_enable_resumes_delete_stops_for_good(
    admin_api, timers, django_db_blocker
):
    ref = timers["toggle"]
    with django_db_blocker.unblock():
        name = task_name(Rule.objects.get(ref=ref).pk)
    wait_for_count(admin_api, ref, 2)

    patch_rule(admin_api, ref, {"enabled": False})
    settle()
    paused = len(enforcements(admin_api, ref))
    time.sleep(3)
    assert len(enforcements(admin_api, ref)) == paused
    with django_db_blocker.unblock():
        assert timer_task(ref).enabled is False

    patch_rule(admin_api, ref, {"enabled": True})
    wait_for_count(admin_api, ref, paused + 2)

    delete_rule(admin_api, ref)
    settle()
    deleted = len(enforcements(admin_api, ref))
    time.sleep(3)
    assert len(enforcements(admin_api, ref)) == deleted
    with django_db_blocker.unblock():
        assert not PeriodicTask.objects.filter(name=name).exists()
    assert_one_of_each_per_tick(admin_api, ref, timer_instances(admin_api, ref))


def test_one_second_timer_for_a_minute_gives_sixty_executions(admin_api, timers, django_db_blocker):
    [(instances, anchor)] = run_windows(admin_api, timers, ["every1"], django_db_blocker).values()

    assert len(instances) == 60
    assert_on_grid(instances, anchor, timedelta(seconds=1))
    executions = assert_one_of_each_per_tick(admin_api, timers["every1"], instances)
    assert len(executions) == 60  # every one finished: no backlog


# --- beat restarts --------------------------------------------------------------------------------


def test_beat_restart_neither_loses_nor_repeats_a_date(admin_api, stack, django_db_blocker):
    from attune.celery import app

    date = now() + timedelta(seconds=2)
    ref = create_rule(admin_api, unique("restart"), date_timer(date), ECHO)["ref"]
    try:
        stack.stop("beat")
        wait_until(date + timedelta(seconds=2.5))
        assert timer_instances(admin_api, ref) == []

        stack.start("beat")
        [enforcement] = wait_for_count(admin_api, ref, 1)
        with django_db_blocker.unblock():
            rule_id = Rule.objects.get(ref=ref).pk
        # A tick beat sent but had not recorded before a crash is sent again after restart.
        app.send_task("attune.fire_timer", [rule_id], {"scheduled_at": date.isoformat()})
        stack.stop("beat")
        stack.start("beat")
        time.sleep(3)

        [instance] = timer_instances(admin_api, ref)
        assert "late" in instance["note"]
        assert len(enforcements(admin_api, ref)) == 1
        assert admin_api.wait_for(enforcement["execution"])["status"] == "succeeded"
    finally:
        delete_rule(admin_api, ref)
        if "beat" not in stack.processes:
            stack.start("beat")
