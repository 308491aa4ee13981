"""The small API that pack code imports; it depends on nothing but the standard library.

The names are resolved on first use (PEP 562) so that an action importing `Action` does not
also import the sensor classes and their dependencies: each workflow step pays the import time.
"""

__all__ = ["Action", "PollingSensor", "Sensor"]


def __getattr__(name: str):
    if name == "Action":
        from attune_sdk.action import Action

        return Action
    if name in ("PollingSensor", "Sensor"):
        from attune_sdk import sensor

        return getattr(sensor, name)
    raise AttributeError(f"module 'attune_sdk' has no attribute {name!r}")
