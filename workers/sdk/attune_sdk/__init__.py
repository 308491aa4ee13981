"""The small API that pack code imports; it depends on nothing but the standard library."""

from attune_sdk.action import Action

__all__ = ["Action"]
