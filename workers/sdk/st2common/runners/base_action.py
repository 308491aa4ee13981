"""StackStorm's import path for the action base class, kept so packs run unmodified."""

from attune_sdk.action import Action

__all__ = ["Action"]
