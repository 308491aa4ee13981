"""Subscription filters: which events a WebSocket client asked for (no Django imports).

A filter is a dict with any of `events` (glob patterns of event types), `action_refs`,
`execution_ids`, `rule_refs` and `trigger_types`. An event matches a filter when it matches
every key the filter names; an execution id also matches the execution's descendants. A client
may hold several filters; an event is sent when any of them matches.
"""

from dataclasses import dataclass
from fnmatch import fnmatchcase

FILTER_KEYS = {
    "events": str,
    "action_refs": str,
    "execution_ids": int,
    "rule_refs": str,
    "trigger_types": str,
}
MAX_VALUES_PER_KEY = 1000


class FilterError(ValueError):
    pass


@dataclass(frozen=True)
class Filter:
    events: tuple = ()
    action_refs: frozenset = frozenset()
    execution_ids: frozenset = frozenset()
    rule_refs: frozenset = frozenset()
    trigger_types: frozenset = frozenset()

    def matches(self, meta: dict) -> bool:
        if self.events and not any(fnmatchcase(meta["type"], p) for p in self.events):
            return False
        if self.action_refs and meta.get("action_ref") not in self.action_refs:
            return False
        if self.execution_ids and self.execution_ids.isdisjoint(meta.get("lineage", ())):
            return False
        if self.rule_refs and meta.get("rule_ref") not in self.rule_refs:
            return False
        return not self.trigger_types or meta.get("trigger_type") in self.trigger_types


def parse_filter(raw) -> Filter:
    """Validate a client's filter; FilterError names the offending key."""
    if raw is None:
        return Filter()
    if not isinstance(raw, dict):
        raise FilterError("filter must be an object")
    unknown = sorted(set(raw) - set(FILTER_KEYS))
    if unknown:
        raise FilterError(f"unknown filter keys: {', '.join(unknown)}")
    values = {}
    for key, kind in FILTER_KEYS.items():
        items = raw.get(key, [])
        if not isinstance(items, list) or len(items) > MAX_VALUES_PER_KEY:
            raise FilterError(f"{key} must be a list of at most {MAX_VALUES_PER_KEY} values")
        if not all(isinstance(item, kind) and not isinstance(item, bool) for item in items):
            raise FilterError(f"{key} must contain only {kind.__name__} values")
        values[key] = items
    return Filter(
        events=tuple(values["events"]),
        action_refs=frozenset(values["action_refs"]),
        execution_ids=frozenset(values["execution_ids"]),
        rule_refs=frozenset(values["rule_refs"]),
        trigger_types=frozenset(values["trigger_types"]),
    )
