"""Register pack sensors, enable or disable them, and record what the sensor container sees.

Every change an operator (or a registration) makes is announced on a Redis channel after
commit, so the sensor container starts or stops processes within moments without polling.
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.audit.choices import AuditAction
from apps.audit.services import record_event
from apps.core.exceptions import NotFound
from apps.core.services import publish_on_commit
from apps.rules.models import Rule
from apps.sensors.choices import SensorStatus
from apps.sensors.events import announce_sensors
from apps.sensors.models import Sensor

logger = logging.getLogger(__name__)

ERROR_MAX_CHARS = 4000


def changes_channel() -> str:
    """The Redis channel on which sensor changes are announced."""
    return f"{settings.ATTUNE_REDIS_PREFIX}attune:sensors"


def announce_sensor_change(ref: str) -> None:
    """Tell the sensor container, once committed, that sensor `ref` (or `*`: any) changed."""
    publish_on_commit(changes_channel(), ref)


def sync_pack_sensors(pack, sensor_specs: list) -> None:
    """Make the pack's sensors exactly those in its sensors/ folder (runtime state kept)."""
    names = [spec.name for spec in sensor_specs]
    pack.sensors.exclude(name__in=names).delete()
    existing = {sensor.name: sensor for sensor in pack.sensors.all()}
    for spec in sensor_specs:
        sensor = existing.get(spec.name) or Sensor(pack=pack, name=spec.name)
        sensor.ref = f"{pack.ref}.{spec.name}"
        sensor.description = spec.description
        sensor.class_name = spec.class_name
        sensor.entry_point = spec.entry_point
        sensor.poll_interval = spec.poll_interval
        sensor.trigger_types = [f"{pack.ref}.{t.name}" for t in spec.trigger_types]
        sensor.is_enabled = spec.is_enabled
        sensor.metadata_file = spec.metadata_file
        sensor.save()
    announce_sensors(f"{pack.ref}.{name}" for name in names)
    # Even with no sensors left: the container may be running ones that were just removed.
    announce_sensor_change("*")


def set_sensor_enabled(ref: str, is_enabled: bool) -> Sensor:
    """Enable or disable a sensor; the sensor container starts or stops it."""
    with transaction.atomic():
        sensor = Sensor.objects.select_for_update().filter(ref=ref).first()
        if sensor is None:
            raise NotFound(f"sensor {ref!r} does not exist")
        if sensor.is_enabled != is_enabled:
            sensor.is_enabled = is_enabled
            sensor.save(update_fields=["is_enabled", "updated_at"])
            record_event(AuditAction.CHANGE, "sensor", ref, detail={"enabled": is_enabled})
            announce_sensor_change(ref)
            announce_sensors([ref])
    logger.info("sensor=%s enabled=%s", ref, is_enabled)
    return sensor


@dataclass(frozen=True)
class SensorLaunch:
    """Everything the container needs to run one sensor; a change means a restart."""

    ref: str
    pack_ref: str
    content_sha256: str
    class_name: str
    entry_point: str
    poll_interval: float | None
    trigger_types: tuple


def sensors_to_run() -> dict[str, SensorLaunch]:
    """The enabled sensors, by ref, as the container should be running them."""
    rows = Sensor.objects.enabled().values_list(
        "ref",
        "pack__ref",
        "pack__content_id",
        "class_name",
        "entry_point",
        "poll_interval",
        "trigger_types",
    )
    return {row[0]: SensorLaunch(*row[:6], tuple(row[6])) for row in rows}


def record_sensor_started(ref: str, pid: int, *, is_respawn: bool) -> None:
    """Mark a sensor running in process `pid`; a respawn after a crash counts as a restart."""
    now = timezone.now()
    fields = {"status": SensorStatus.RUNNING, "pid": pid, "started_at": now, "heartbeat_at": now}
    fields["restarts"] = F("restarts") + 1 if is_respawn else 0
    Sensor.objects.filter(ref=ref).update(**fields, updated_at=now)
    announce_sensors([ref])


def record_sensor_crashed(ref: str, error: str) -> None:
    """Mark a sensor crashed, keeping the end of what it said as its last error."""
    Sensor.objects.filter(ref=ref).update(
        status=SensorStatus.CRASHED,
        pid=None,
        last_error=error[-ERROR_MAX_CHARS:],
        updated_at=timezone.now(),
    )
    announce_sensors([ref])


def record_sensors_stopped(refs) -> None:
    """Mark sensors stopped (disabled, removed, or the container is shutting down)."""
    refs = list(refs)
    Sensor.objects.filter(ref__in=refs).update(
        status=SensorStatus.STOPPED, pid=None, updated_at=timezone.now()
    )
    announce_sensors(refs)


def record_heartbeat(refs) -> None:
    """Note that the container still runs these sensors."""
    Sensor.objects.filter(ref__in=list(refs)).update(heartbeat_at=timezone.now())


def reset_sensor_states() -> None:
    """At container start nothing runs yet, whatever a previous container left recorded."""
    Sensor.objects.exclude(status=SensorStatus.STOPPED).update(
        status=SensorStatus.STOPPED, pid=None, updated_at=timezone.now()
    )


def triggers_for(trigger_type_refs) -> dict[str, dict]:
    """The concrete triggers enabled rules use among these types, by key (StackStorm's
    trigger objects, handed to the sensor's add/update/remove_trigger)."""
    rules = Rule.objects.enabled().filter(trigger_ref__in=list(trigger_type_refs))
    triggers = {}
    for key, ref, parameters in rules.values_list(
        "trigger_key", "trigger_ref", "trigger_parameters"
    ).order_by("id"):
        triggers.setdefault(
            key, {"id": key, "ref": key, "type": ref, "parameters": parameters or {}}
        )
    return triggers
