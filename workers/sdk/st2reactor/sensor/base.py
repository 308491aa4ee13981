"""StackStorm's import path for the sensor base classes, kept so packs run unmodified."""

from attune_sdk.sensor import PollingSensor, Sensor

__all__ = ["PollingSensor", "Sensor"]
