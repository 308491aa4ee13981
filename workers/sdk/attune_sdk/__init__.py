"""The small API that pack code imports; it depends on nothing but the standard library."""

from attune_sdk.action import Action
from attune_sdk.sensor import PollingSensor, Sensor

__all__ = ["Action", "PollingSensor", "Sensor"]
