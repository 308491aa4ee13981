"""Live notification events about rules and their enforcements (see apps.notifications)."""

from apps.notifications.services import event, publish
from apps.rules.api.serializers import RuleSerializer
from apps.rules.models import Rule


def announce_rule(rule: Rule, event_type: str) -> None:
    """`rule.created` / `rule.updated` (enable and disable included)."""
    publish(
        event(
            event_type,
            "rule",
            rule.pk,
            RuleSerializer(rule).data,
            audience=[rule.owner_id],
            rule_ref=rule.ref,
            trigger_type=rule.trigger_ref,
        )
    )


def announce_rule_deleted(rule_id: int, ref: str, owner_id, trigger_type: str) -> None:
    publish(
        event(
            "rule.deleted",
            "rule",
            rule_id,
            {"id": rule_id, "ref": ref},
            audience=[owner_id],
            rule_ref=ref,
            trigger_type=trigger_type,
        )
    )


def enforcement_event(payload: dict, owner_id, trigger_type: str) -> tuple:
    """`enforcement.created`: matched or not, and why (the REST representation)."""
    lineage = [payload["execution"]] if payload["execution"] else None
    return event(
        "enforcement.created",
        "enforcement",
        payload["id"],
        payload,
        audience=[owner_id],
        rule_ref=payload["rule_ref"],
        trigger_type=trigger_type,
        lineage=lineage,
    )
