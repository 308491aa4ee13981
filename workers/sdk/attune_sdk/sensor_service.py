"""What a sensor may ask of the platform: dispatch triggers, get a logger, use the datastore.

Dispatches travel to the sensor container as JSON lines on a dedicated pipe; datastore calls go
to the REST API with the sensor's token. This process never talks to the database.
"""

import json
import os
import threading

from attune_sdk.datastore import SYSTEM_SCOPE, DatastoreService
from attune_sdk.sensor import sensor_logger


class DispatchChannel:
    """Write one JSON object per line to the container's pipe, safely from any thread."""

    def __init__(self, fd: int):
        self._fd = fd
        self._lock = threading.Lock()

    def send(self, message: dict) -> None:
        data = json.dumps(message, default=str).encode() + b"\n"
        with self._lock:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]


class SensorService:
    """The `sensor_service` a sensor gets (StackStorm's interface).

    Sensors run for no user: they use system keys (`local=True`: `<pack>.<Class>:<name>`).
    """

    def __init__(
        self, sensor_ref: str, channel: DispatchChannel, datastore: DatastoreService | None = None
    ):
        self.sensor_ref = sensor_ref
        self._channel = channel
        self._datastore = datastore or DatastoreService(None, sensor_ref)

    def get_value(self, name, local=True, scope=SYSTEM_SCOPE, decrypt=False):
        return self._datastore.get_value(name, local=local, scope=scope, decrypt=decrypt)

    def set_value(self, name, value, ttl=None, local=True, scope=SYSTEM_SCOPE, encrypt=False):
        return self._datastore.set_value(
            name, value, ttl=ttl, local=local, scope=scope, encrypt=encrypt
        )

    def delete_value(self, name, local=True, scope=SYSTEM_SCOPE):
        return self._datastore.delete_value(name, local=local, scope=scope)

    def list_values(self, local=True, prefix=None, scope=SYSTEM_SCOPE, decrypt=False):
        return self._datastore.list_values(local=local, prefix=prefix, scope=scope, decrypt=decrypt)

    def dispatch(self, trigger, payload=None, trace_tag=None):
        """Emit `trigger` (`pack.name`, or just `name` for this pack) with `payload`."""
        self._channel.send(
            {"trigger": trigger_ref(trigger), "payload": payload, "trace_tag": trace_tag}
        )

    def dispatch_with_context(self, trigger, payload=None, trace_context=None):
        trace_tag = getattr(trace_context, "trace_tag", None) or (
            trace_context.get("trace_tag") if isinstance(trace_context, dict) else None
        )
        self.dispatch(trigger, payload, trace_tag=trace_tag)

    def get_logger(self, name):
        return sensor_logger(self.sensor_ref, name)


def trigger_ref(trigger) -> str:
    """StackStorm accepts a ref or a trigger dict; send the ref."""
    if isinstance(trigger, dict):
        if trigger.get("ref"):
            return str(trigger["ref"])
        return ".".join(str(part) for part in (trigger.get("pack"), trigger.get("name")) if part)
    return str(trigger)
