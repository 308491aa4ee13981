"""Create, change, delete and test rules; keep the rules of a pack in step with its files."""

import logging

import jsonschema
from django.db import transaction

from apps.accounts.cache import credentials
from apps.actions.models import Action
from apps.audit.choices import AuditAction
from apps.audit.services import record_event
from apps.core.cache import bump_content_version
from apps.core.exceptions import InvalidInput, NotFound
from apps.executions.masking import mask_secret_values
from apps.rules.engine import compile_rule, evaluate_for_owner
from apps.rules.events import announce_rule, announce_rule_deleted
from apps.rules.models import Rule
from apps.rules.specs import RuleSpec, parse_rule
from apps.rules.timers import remove_rule_timer, sync_rule_timer, timer_parameter_errors
from apps.triggers.models import TriggerType, trigger_key

logger = logging.getLogger(__name__)


class RuleRefused(InvalidInput):
    code = "invalid_rule"


def trigger_errors(spec: RuleSpec, where: str, known_types: dict | None = None) -> list[dict]:
    """Check that the trigger type exists and its parameters fit the type's schema."""
    trigger_type = (known_types or {}).get(spec.trigger_ref) or TriggerType.objects.filter(
        ref=spec.trigger_ref
    ).first()
    if trigger_type is None:
        message = f"unknown trigger type {spec.trigger_ref!r}"
        return [{"file": where, "field": "trigger.type", "message": message}]
    schema = trigger_type.parameters_schema
    if not schema:
        return []
    errors = [
        {"file": where, "field": "trigger.parameters", "message": error.message}
        for error in jsonschema.Draft7Validator(schema).iter_errors(spec.trigger_parameters)
    ]
    return errors or [
        {"file": where, "field": f"trigger.parameters.{name}", "message": message}
        for name, message in timer_parameter_errors(spec.trigger_ref, spec.trigger_parameters)
    ]


def apply_spec(rule: Rule, spec: RuleSpec) -> None:
    rule.name = spec.name
    rule.description = spec.description
    rule.trigger_ref = spec.trigger_ref
    rule.trigger_parameters = spec.trigger_parameters
    rule.trigger_key = trigger_key(spec.trigger_ref, spec.trigger_parameters)
    rule.criteria = spec.criteria
    rule.action_ref = spec.action_ref
    rule.action_parameters = spec.action_parameters
    rule.is_enabled = spec.is_enabled
    rule.metadata_file = spec.metadata_file


def parse_api_rule(data: dict) -> RuleSpec:
    """Parse and check a rule sent to the API; raise RuleRefused naming every problem."""
    errors: list[dict] = []
    spec = parse_rule(data, "request", errors)
    if spec is not None:
        errors += trigger_errors(spec, "request")
        if not Action.objects.filter(ref=spec.action_ref).exists():
            message = f"action {spec.action_ref!r} does not exist"
            errors.append({"file": "request", "field": "action.ref", "message": message})
    if errors:
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise RuleRefused(f"invalid rule: {detail}", errors=errors)
    return spec


def create_rule(data: dict, *, owner=None, pack_ref: str = "default") -> Rule:
    """Create a rule from an API body; its ref is `<pack>.<name>`."""
    spec = parse_api_rule(data)
    ref = f"{pack_ref}.{spec.name}"
    with transaction.atomic():
        if Rule.objects.filter(ref=ref).exists():
            raise RuleRefused(f"rule {ref!r} already exists")
        rule = Rule(ref=ref, owner=owner)
        apply_spec(rule, spec)
        rule.save()
        after_save(rule, "rule.created")
        record_event(AuditAction.CREATE, "rule", rule.ref)
    logger.info("rule=%s created", rule.ref)
    return rule


def update_rule(rule: Rule, data: dict) -> Rule:
    """Replace a rule's definition (its ref stays)."""
    spec = parse_api_rule({**data, "name": rule.name})
    with transaction.atomic():
        apply_spec(rule, spec)
        rule.save()
        after_save(rule, "rule.updated")
        record_event(AuditAction.CHANGE, "rule", rule.ref)
    logger.info("rule=%s updated", rule.ref)
    return rule


def set_rule_enabled(rule: Rule, is_enabled: bool) -> Rule:
    with transaction.atomic():
        rule.is_enabled = is_enabled
        rule.save(update_fields=["is_enabled", "updated_at"])
        after_save(rule, "rule.updated")
        record_event(AuditAction.CHANGE, "rule", rule.ref, detail={"enabled": is_enabled})
    logger.info("rule=%s enabled=%s", rule.ref, is_enabled)
    return rule


def delete_rule(rule: Rule) -> None:
    rule_id = rule.pk
    with transaction.atomic():
        record_event(AuditAction.DELETE, "rule", rule.ref)
        rule.delete()
        after_delete(rule, rule_id)
    logger.info("rule_id=%s deleted", rule_id)


def after_save(rule: Rule, event_type: str) -> None:
    sync_rule_timer(rule)
    bump_content_version()
    announce_rule(rule, event_type)


def after_delete(rule: Rule, rule_id: int) -> None:
    """After `rule` (whose pk Django has cleared) was deleted."""
    remove_rule_timer(rule_id)
    bump_content_version()
    announce_rule_deleted(rule_id, rule.ref, rule.owner_id, rule.trigger_ref)


def sync_pack_rules(pack, specs: list[RuleSpec]) -> None:
    """Make the pack's rules exactly `specs` (inside the caller's transaction)."""
    names = {spec.name for spec in specs}
    for rule in pack.rules.exclude(name__in=names):
        delete_rule(rule)
    existing = {rule.name: rule for rule in pack.rules.all()}
    for spec in specs:
        rule = existing.get(spec.name)
        event_type = "rule.updated" if rule else "rule.created"
        rule = rule or Rule(pack=pack, ref=f"{pack.ref}.{spec.name}")
        rule.owner = rule.owner or pack.owner
        apply_spec(rule, spec)
        rule.save()
        after_save(rule, event_type)


def test_rule(ref: str, payload) -> dict:
    """Evaluate a rule against a sample payload without running anything."""
    rule = Rule.objects.filter(ref=ref).first()
    if rule is None:
        raise NotFound(f"rule {ref!r} does not exist")
    outcome = evaluate_for_owner(compile_rule(rule), payload, (), credentials.current_version())
    return {
        "rule": rule.ref,
        "matched": outcome.status == "matched",
        "status": outcome.status,
        "reason": outcome.reason,
        "criteria": outcome.criteria_results or [],
        # Datastore secrets a template decrypted are shown masked, never in the clear.
        "parameters": mask_secret_values(outcome.parameters, outcome.revealed_secrets),
    }
