"""Run one pack sensor: read its start request on stdin, dispatch on ATTUNE_DISPATCH_FD.

Further stdin lines are trigger events ({"event": "add"|"update"|"remove", "trigger": ...}).
SIGTERM stops the sensor: `cleanup()` runs and the process exits 0. Anything else that ends
`run()` is a crash, reported on stderr (the container keeps its tail as the last error).
"""

import importlib.util
import inspect
import json
import logging
import os
import signal
import sys
import threading
import traceback

from attune_sdk.datastore import datastore_service
from attune_sdk.sensor import PollingSensor, Sensor
from attune_sdk.sensor_service import DispatchChannel, SensorService

TRIGGER_EVENTS = {"add": "add_trigger", "update": "update_trigger", "remove": "remove_trigger"}


class SensorStopped(BaseException):
    """Raised in the main thread when the container asks the sensor to stop."""


def main() -> int:
    request = json.loads(sys.stdin.readline())
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s %(message)s"
    )
    signal.signal(signal.SIGTERM, stop)
    channel = DispatchChannel(int(os.environ["ATTUNE_DISPATCH_FD"]))
    datastore = datastore_service(
        request.get("datastore"), f"{request['pack_ref']}.{request['class_name']}"
    )
    service = SensorService(request["sensor_ref"], channel, datastore)
    sensor = None
    try:
        sensor = make_sensor(request, service)
        sensor.setup()
        for trigger in request.get("triggers") or []:
            sensor.add_trigger(trigger)
        threading.Thread(target=watch_triggers, args=(sensor,), daemon=True).start()
        sensor.run()
        print(f"sensor {request['sensor_ref']}: run() returned", file=sys.stderr)
        return 1  # a sensor is meant to run until stopped
    except SensorStopped:
        return 0
    except Exception:  # noqa: BLE001 - any error in pack code crashes the sensor, reported
        traceback.print_exc()
        return 1
    finally:
        if sensor is not None:
            clean_up(sensor)


def stop(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one stop is enough; let cleanup run
    raise SensorStopped()


def make_sensor(request: dict, service: SensorService) -> Sensor:
    sensor_class = load_sensor_class(request["entry_point"], request["class_name"])
    kwargs = {"sensor_service": service, "config": request.get("config") or {}}
    if issubclass(sensor_class, PollingSensor) and request.get("poll_interval"):
        kwargs["poll_interval"] = request["poll_interval"]
    return sensor_class(**kwargs)


def load_sensor_class(path: str, class_name: str) -> type:
    """Import the entry point and return its `class_name`, which must subclass Sensor."""
    sys.path.insert(0, os.path.dirname(path))
    spec = importlib.util.spec_from_file_location("attune_sensor_module", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found = getattr(module, class_name, None)
    if not (inspect.isclass(found) and issubclass(found, Sensor)):
        raise TypeError(f"{path} defines no Sensor subclass named {class_name!r}")
    return found


def watch_triggers(sensor: Sensor) -> None:
    """Hand trigger events from the container to the sensor (StackStorm's trigger watcher)."""
    for line in sys.stdin:
        try:
            event = json.loads(line)
            getattr(sensor, TRIGGER_EVENTS[event["event"]])(event["trigger"])
        except Exception:  # noqa: BLE001 - a bad handler must not stop the sensor
            logging.getLogger(__name__).exception("trigger event failed: %s", line.strip())


def clean_up(sensor: Sensor) -> None:
    try:
        sensor.cleanup()
    except Exception:  # noqa: BLE001
        traceback.print_exc()


if __name__ == "__main__":
    sys.exit(main())
