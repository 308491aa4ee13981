"""Base classes for pack sensors (StackStorm-compatible): `Sensor` and `PollingSensor`.

A sensor runs in its own process under the sensor container. It reports what it sees with
`self.sensor_service.dispatch(trigger, payload)`; the container records the trigger instance.
"""

import logging
import time

DEFAULT_POLL_INTERVAL = 5


class Sensor:
    """Subclass this and implement `run()`, a loop that watches something and dispatches.

    `setup()` runs once before `run()`, `cleanup()` once when the sensor stops. The
    `*_trigger` methods hear about rules that use this sensor's trigger types with
    parameters (StackStorm's trigger objects: id, ref, type, parameters).
    """

    def __init__(self, sensor_service, config=None):
        self.sensor_service = sensor_service
        self._sensor_service = sensor_service  # the name StackStorm sensors often use
        self.config = config or {}
        self._config = self.config

    def setup(self):
        """Prepare whatever `run()` needs (connections, state)."""

    def run(self):
        raise NotImplementedError("a Sensor must implement run()")

    def cleanup(self):
        """Release what `setup()` took; called when the sensor is stopped."""

    def add_trigger(self, trigger):
        """A rule started using one of this sensor's trigger types."""

    def update_trigger(self, trigger):
        """A rule changed the parameters of one of this sensor's triggers."""

    def remove_trigger(self, trigger):
        """No rule uses this trigger any more."""


class PollingSensor(Sensor):
    """Subclass this and implement `poll()`; it is called every `poll_interval` seconds."""

    def __init__(self, sensor_service, config=None, poll_interval=DEFAULT_POLL_INTERVAL):
        super().__init__(sensor_service, config)
        self._poll_interval = poll_interval

    def run(self):
        while True:
            self.poll()
            time.sleep(self._poll_interval)

    def poll(self):
        raise NotImplementedError("a PollingSensor must implement poll()")

    def get_poll_interval(self):
        return self._poll_interval

    def set_poll_interval(self, poll_interval):
        self._poll_interval = poll_interval


def sensor_logger(sensor_ref: str, name: str) -> logging.Logger:
    return logging.getLogger(f"sensor.{sensor_ref}.{name}")
