"""What a sensor may ask of the platform: dispatch triggers, get a logger.

Dispatches travel to the sensor container as JSON lines on a dedicated pipe; this process
never talks to the database.
"""

import json
import os
import threading

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
    """The `sensor_service` a sensor gets (StackStorm's interface, datastore calls aside)."""

    def __init__(self, sensor_ref: str, channel: DispatchChannel):
        self.sensor_ref = sensor_ref
        self._channel = channel

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
