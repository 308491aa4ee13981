"""Reading sensors/*.yaml: sensors load with their trigger types, and every problem names its
file and field."""

from pathlib import Path

import pytest

from apps.packs.loader import PackInvalid, load_pack

FIXTURE_PACKS = Path(__file__).resolve().parents[2] / "fixtures" / "packs"
PACK_YAML = "ref: demo\nname: demo\nversion: 1.0.0\n"
SENSOR_PY = "from st2reactor.sensor.base import Sensor\n\n\nclass Watch(Sensor):\n    pass\n"


def write_pack(root: Path, files: dict[str, str]) -> Path:
    for relative, text in {"pack.yaml": PACK_YAML, **files}.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def sensor_errors(root: Path, file: str = "sensors/watch.yaml") -> dict[str, str]:
    with pytest.raises(PackInvalid) as caught:
        load_pack(root)
    return {e["field"]: e["message"] for e in caught.value.errors if e["file"] == file}


def test_the_sensorpack_fixture_loads_its_sensors_with_their_trigger_types():
    pack = load_pack(FIXTURE_PACKS / "sensorpack")

    by_name = {sensor.name: sensor for sensor in pack.sensors}
    assert sorted(by_name) == ["CounterSensor", "CrashingSensor", "ReadingSensor"]
    counter = by_name["CounterSensor"]
    assert counter.class_name == "CounterSensor"
    assert counter.entry_point == "counter.py"
    assert counter.poll_interval == 1.0
    assert counter.is_enabled is False
    assert counter.metadata_file == "sensors/counter.yaml"
    [tick] = counter.trigger_types
    assert tick.name == "tick"
    assert tick.payload_schema["required"] == ["count"]
    assert by_name["CrashingSensor"].trigger_types == []
    assert by_name["CrashingSensor"].poll_interval is None


def test_sensor_trigger_types_count_among_the_packs_trigger_types():
    pack = load_pack(FIXTURE_PACKS / "sensorpack")

    assert pack.trigger_types == []
    assert sorted(t.name for t in pack.all_trigger_types()) == ["reading", "tick"]


def test_a_pack_without_sensors_has_none():
    assert load_pack(FIXTURE_PACKS / "examples").sensors == []


def test_a_minimal_sensor_defaults_to_enabled_named_after_its_class(tmp_path):
    root = write_pack(
        tmp_path,
        {
            "sensors/watch.py": SENSOR_PY,
            "sensors/watch.yaml": "class_name: Watch\nentry_point: watch.py\n",
        },
    )

    [sensor] = load_pack(root).sensors

    assert (sensor.name, sensor.is_enabled, sensor.trigger_types) == ("Watch", True, [])


def test_an_explicit_name_wins_over_the_class_name(tmp_path):
    root = write_pack(
        tmp_path,
        {
            "sensors/watch.py": SENSOR_PY,
            "sensors/watch.yaml": "name: watcher\nclass_name: Watch\nentry_point: watch.py\n",
        },
    )

    assert load_pack(root).sensors[0].name == "watcher"


@pytest.mark.parametrize(
    ("yaml_text", "field", "message"),
    [
        ("entry_point: watch.py\n", "class_name", "is required"),
        ("class_name: not a name\nentry_point: watch.py\n", "class_name", "is required"),
        ("class_name: Watch\n", "entry_point", "is required"),
        ("class_name: Watch\nentry_point: missing.py\n", "entry_point", "does not exist"),
        ("class_name: Watch\nentry_point: ../../outside.py\n", "entry_point", "outside the pack"),
        (
            "class_name: Watch\nentry_point: watch.py\npoll_interval: 0\n",
            "poll_interval",
            "positive",
        ),
        (
            "class_name: Watch\nentry_point: watch.py\npoll_interval: soon\n",
            "poll_interval",
            "positive",
        ),
        (
            "class_name: Watch\nentry_point: watch.py\nenabled: sometimes\n",
            "enabled",
            "true or false",
        ),
        (
            "class_name: Watch\nentry_point: watch.py\ntrigger_types: tick\n",
            "trigger_types",
            "a list",
        ),
        (
            "class_name: Watch\nentry_point: watch.py\ntrigger_types: [{description: x}]\n",
            "trigger_types[0].name",
            "is required",
        ),
        (
            "class_name: Watch\nentry_point: watch.py\ntrigger_types: [7]\n",
            "trigger_types[0]",
            "a mapping",
        ),
        (
            "class_name: Watch\nentry_point: watch.py\n"
            "trigger_types: [{name: tick, payload_schema: {type: 12}}]\n",
            "trigger_types[0].payload_schema",
            "",
        ),
    ],
)
def test_a_bad_sensor_field_is_reported_with_its_file_and_field(
    tmp_path, yaml_text, field, message
):
    root = write_pack(tmp_path, {"sensors/watch.py": SENSOR_PY, "sensors/watch.yaml": yaml_text})

    errors = sensor_errors(root)

    assert field in errors, errors
    assert message in errors[field]


def test_every_bad_sensor_is_reported_at_once(tmp_path):
    root = write_pack(
        tmp_path,
        {
            "sensors/watch.yaml": "class_name: Watch\n",
            "sensors/other.yaml": "entry_point: nowhere.py\n",
        },
    )

    with pytest.raises(PackInvalid) as caught:
        load_pack(root)

    assert {(e["file"], e["field"]) for e in caught.value.errors} == {
        ("sensors/watch.yaml", "entry_point"),
        ("sensors/other.yaml", "class_name"),
        ("sensors/other.yaml", "entry_point"),
    }


def test_two_sensors_with_one_name_are_refused(tmp_path):
    root = write_pack(
        tmp_path,
        {
            "sensors/watch.py": SENSOR_PY,
            "sensors/a.yaml": "class_name: Watch\nentry_point: watch.py\n",
            "sensors/b.yaml": "class_name: Watch\nentry_point: watch.py\n",
        },
    )

    assert "duplicate sensor name 'Watch'" in sensor_errors(root, "sensors/b.yaml")["name"]


def test_a_sensor_trigger_type_may_not_repeat_one_from_triggers(tmp_path):
    root = write_pack(
        tmp_path,
        {
            "triggers/tick.yaml": "name: tick\n",
            "sensors/watch.py": SENSOR_PY,
            "sensors/watch.yaml": "class_name: Watch\nentry_point: watch.py\n"
            "trigger_types: [{name: tick}]\n",
        },
    )

    message = sensor_errors(root)["trigger_types"]

    assert "duplicate trigger type 'tick'" in message
    assert "triggers/" in message
