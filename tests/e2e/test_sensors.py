"""Pack sensors under the live sensor container: they start, stop and restart with their
enabled flag, emit trigger instances that drive rules, and are respawned when they crash
(T3.6)."""

import shutil
import time

import pytest

from apps.packs.services import register_pack
from tests.e2e.conftest import FIXTURE_PACKS
from tests.support.events import create_rule, unique, wait_for_enforcements
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

COUNTER = "sensorpack.CounterSensor"
CRASHING = "sensorpack.CrashingSensor"
READING = "sensorpack.ReadingSensor"
POLL_INTERVAL = 1.0  # of the counter and reading sensors


@pytest.fixture(scope="module")
def sensorpack(stack, django_db_blocker):
    """Register the sensor fixture pack (its sensors are disabled until a test enables one)."""
    with django_db_blocker.unblock():
        return register_pack(FIXTURE_PACKS / "sensorpack")


@pytest.fixture
def enable(admin_api, sensorpack):
    """Enable sensors for one test; whatever it enabled is disabled afterwards."""
    enabled = []

    def enable_sensor(ref: str) -> dict:
        enabled.append(ref)
        return set_enabled(admin_api, ref, True)

    yield enable_sensor
    for ref in enabled:
        set_enabled(admin_api, ref, False)
        wait_for_sensor(admin_api, ref, lambda s: s["status"] == "stopped")


def patch_sensor(api, ref: str, body):
    return api.session.patch(f"{api.base_url}/api/v1/sensors/{ref}", json=body, timeout=30)


def set_enabled(api, ref: str, is_enabled: bool) -> dict:
    response = patch_sensor(api, ref, {"enabled": is_enabled})
    assert response.status_code == 200, response.text
    assert response.json()["enabled"] is is_enabled
    return response.json()


def wait_for_sensor(api, ref: str, condition, timeout: float = 30.0) -> dict:
    def check():
        sensor = api.get(f"/api/v1/sensors/{ref}").json()
        return sensor if condition(sensor) else None

    return eventually(check, f"sensor {ref} in the expected state", timeout)


def instances_from(api, trigger: str, sensor_ref: str, after_id: int = 0) -> list[dict]:
    """The trigger instances `sensor_ref` emitted on `trigger` after `after_id`, oldest first."""
    response = api.get("/api/v1/triggerinstances", params={"trigger": trigger, "source": "sensor"})
    found = [
        i
        for i in response.json()["results"]
        if i["source_detail"] == sensor_ref and i["id"] > after_id
    ]
    return sorted(found, key=lambda i: i["id"])


def wait_for_instances(api, trigger, sensor_ref, count, after_id=0) -> list[dict]:
    return eventually(
        lambda: (
            (found := instances_from(api, trigger, sensor_ref, after_id))[count - 1 :] and found
        ),
        f"{count} {trigger} instances from {sensor_ref}",
    )


def test_the_sensor_api_lists_the_packs_sensors_with_their_trigger_types(admin_api, sensorpack):
    sensors = admin_api.get("/api/v1/sensors", params={"pack__ref": "sensorpack"}).json()

    assert [s["ref"] for s in sensors["results"]] == [COUNTER, CRASHING, READING]
    counter = admin_api.get(f"/api/v1/sensors/{COUNTER}").json()
    assert counter["trigger_types"] == ["sensorpack.tick"]
    assert (counter["enabled"], counter["poll_interval"], counter["pack"]) == (
        False,
        POLL_INTERVAL,
        "sensorpack",
    )
    tick = admin_api.get("/api/v1/triggertypes/sensorpack.tick").json()
    assert (tick["pack"], tick["payload_schema"]["required"]) == ("sensorpack", ["count"])


def test_only_staff_enable_sensors_and_bad_requests_get_4xx(admin_api, alice_api, sensorpack):
    assert patch_sensor(alice_api, COUNTER, {"enabled": True}).status_code == 403
    assert alice_api.get(f"/api/v1/sensors/{COUNTER}").json()["enabled"] is False
    assert patch_sensor(admin_api, COUNTER, {"enabled": "maybe"}).status_code == 400
    assert patch_sensor(admin_api, COUNTER, {}).status_code == 400
    assert patch_sensor(admin_api, "sensorpack.Nope", {"enabled": True}).status_code == 404
    assert admin_api.get(f"/api/v1/sensors/{COUNTER}").json()["enabled"] is False


def test_counter_sensor_runs_while_enabled_and_its_ticks_drive_a_rule(admin_api, enable):
    create_rule(
        admin_api,
        unique("ticks"),
        {"type": "sensorpack.tick", "parameters": {}},
        {"ref": "core.echo", "parameters": {"message": "count {{ trigger.count }}"}},
    )

    enable(COUNTER)

    running = wait_for_sensor(admin_api, COUNTER, lambda s: s["status"] == "running")
    assert running["pid"] and running["started_at"] and running["restarts"] == 0
    ticks = wait_for_instances(admin_api, "sensorpack.tick", COUNTER, 3)[:3]
    assert [t["payload"] for t in ticks] == [{"count": 1}, {"count": 2}, {"count": 3}]
    outputs = []
    for tick in ticks:
        [enforcement] = wait_for_enforcements(admin_api, tick["id"], 1)
        outputs.append(admin_api.wait_for(enforcement["execution"])["stdout"])
    assert outputs == ["count 1\n", "count 2\n", "count 3\n"]

    set_enabled(admin_api, COUNTER, False)

    wait_for_sensor(admin_api, COUNTER, lambda s: s["status"] == "stopped" and not s["pid"])
    emitted = instances_from(admin_api, "sensorpack.tick", COUNTER)
    time.sleep(3 * POLL_INTERVAL)  # a stopped sensor stays silent for several polls
    assert instances_from(admin_api, "sensorpack.tick", COUNTER) == emitted

    set_enabled(admin_api, COUNTER, True)

    wait_for_sensor(admin_api, COUNTER, lambda s: s["status"] == "running")
    [first_again] = wait_for_instances(
        admin_api, "sensorpack.tick", COUNTER, 1, after_id=emitted[-1]["id"]
    )[:1]
    assert first_again["payload"] == {"count": 1}  # a new process, counting afresh


def test_a_crashing_sensor_is_respawned_and_its_error_reported(admin_api, enable):
    enable(CRASHING)
    statuses = set()

    def crashed_twice(sensor):
        statuses.add(sensor["status"])
        return sensor["restarts"] >= 2 and sensor["last_error"]

    sensor = wait_for_sensor(admin_api, CRASHING, crashed_twice)

    assert "RuntimeError: crashing sensor gave up on purpose" in sensor["last_error"]
    assert "crashed" in statuses
    assert sensor["enabled"] is True


def test_an_invalid_payload_is_recorded_as_a_failed_instance_and_the_sensor_keeps_running(
    admin_api, enable
):
    enable(READING)

    readings = wait_for_instances(admin_api, "sensorpack.reading", READING, 2)[:2]

    assert [r["payload"] for r in readings] == [{"value": "n/a"}, {"value": 2}]
    assert readings[0]["status"] == "failed"
    assert "'n/a' is not of type 'number'" in readings[0]["error"]
    assert readings[1]["status"] != "failed"
    sensor = admin_api.get(f"/api/v1/sensors/{READING}").json()
    assert (sensor["status"], sensor["restarts"], sensor["last_error"]) == ("running", 0, "")


def test_re_registering_without_a_sensor_removes_it_and_its_trigger_types(
    admin_api, sensorpack, live_db, tmp_path
):
    copy = tmp_path / "sensorcopy"
    shutil.copytree(FIXTURE_PACKS / "sensorpack", copy)
    (copy / "pack.yaml").write_text("ref: sensorcopy\nname: sensorcopy\nversion: 0.1.0\n")
    register_pack(copy)
    assert admin_api.get("/api/v1/sensors/sensorcopy.CounterSensor").status_code == 200

    (copy / "sensors" / "counter.yaml").unlink()
    register_pack(copy)

    assert admin_api.get("/api/v1/sensors/sensorcopy.CounterSensor").status_code == 404
    assert admin_api.get("/api/v1/triggertypes/sensorcopy.tick").status_code == 404
    assert admin_api.get("/api/v1/triggertypes/sensorcopy.reading").status_code == 200
