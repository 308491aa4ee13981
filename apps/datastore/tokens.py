"""Process tokens: how an action or sensor process reaches the datastore API.

A worker signs a token naming its execution (a sensor container: its sensor) and hands it to
the process on stdin, never in the environment or argv. The token is good only for the
datastore endpoints, and only while the execution runs (or the sensor is enabled); it acts for
the execution's user (a sensor: for no user, so system keys only).
"""

from django.core import signing

from apps.datastore.services import KeyCaller
from apps.executions.choices import ACTIVE
from apps.executions.models import Execution
from apps.sensors.models import Sensor

SALT = "attune.datastore.process-token"


def execution_token(execution_id: int) -> str:
    return signing.dumps({"execution": execution_id}, salt=SALT)


def sensor_token(sensor_ref: str) -> str:
    return signing.dumps({"sensor": sensor_ref}, salt=SALT)


def caller_for_token(raw: str) -> KeyCaller | None:
    """The caller a valid token stands for; None if it is forged or no longer valid."""
    try:
        claims = signing.loads(raw, salt=SALT)
    except signing.BadSignature:
        return None
    if "execution" in claims:
        execution = (
            Execution.objects.select_related("created_by")
            .filter(pk=claims["execution"], status__in=ACTIVE)
            .first()
        )
        if execution is None:
            return None
        label = f"execution {execution.pk}"
        return KeyCaller(
            execution.created_by, is_process=True, label=label, execution_id=execution.pk
        )
    if "sensor" in claims and Sensor.objects.enabled().filter(ref=claims["sensor"]).exists():
        return KeyCaller(None, is_process=True, label=f"sensor {claims['sensor']}")
    return None
