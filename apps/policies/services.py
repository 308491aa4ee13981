"""Create, change and delete policies; keep the policies of a pack in step with its files."""

import logging

from django.db import transaction

from apps.actions.models import Action
from apps.core.cache import bump_content_version
from apps.core.exceptions import InvalidInput
from apps.packs.loader import PackInvalid
from apps.policies import enforcement
from apps.policies.choices import CONCURRENCY_TYPES
from apps.policies.models import Policy
from apps.policies.specs import PolicySpec, parse_policy

logger = logging.getLogger(__name__)


class PolicyRefused(InvalidInput):
    code = "invalid_policy"


def resource_errors(spec: PolicySpec, where: str) -> list[dict]:
    """The policy must name an existing action."""
    if Action.objects.filter(ref=spec.resource_ref).exists():
        return []
    message = f"action {spec.resource_ref!r} does not exist"
    return [{"file": where, "field": "resource_ref", "message": message}]


def parse_api_policy(data) -> PolicySpec:
    """Parse and check a policy sent to the API; raise PolicyRefused naming every problem."""
    errors: list[dict] = []
    spec = parse_policy(data, "request", errors)
    if spec is not None:
        errors += resource_errors(spec, "request")
    if errors:
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise PolicyRefused(f"invalid policy: {detail}", errors=errors)
    return spec


def apply_spec(policy: Policy, spec: PolicySpec) -> None:
    policy.name = spec.name
    policy.description = spec.description
    policy.resource_ref = spec.resource_ref
    policy.policy_type = spec.policy_type
    policy.parameters = spec.parameters
    policy.is_enabled = spec.is_enabled
    policy.metadata_file = spec.metadata_file


def create_policy(data, *, pack_ref: str = "default") -> Policy:
    """Create a policy from an API body; its ref is `<pack>.<name>`."""
    spec = parse_api_policy(data)
    ref = f"{pack_ref}.{spec.name}"
    with transaction.atomic():
        if Policy.objects.filter(ref=ref).exists():
            raise PolicyRefused(
                f"policy {ref!r} already exists",
                errors=[{"file": "request", "field": "name", "message": "already exists"}],
            )
        policy = Policy(ref=ref)
        apply_spec(policy, spec)
        policy.save()
        after_save(policy)
    logger.info("policy=%s created", policy.ref)
    return policy


def update_policy(policy: Policy, data) -> Policy:
    """Replace a policy's definition (its ref and name stay)."""
    if not isinstance(data, dict):
        raise PolicyRefused("send the policy as a JSON object")
    spec = parse_api_policy({**data, "name": policy.name})
    with transaction.atomic():
        apply_spec(policy, spec)
        policy.save()
        after_save(policy)
    logger.info("policy=%s updated", policy.ref)
    return policy


def delete_policy(policy: Policy) -> None:
    """Delete a policy; executions waiting on it go on with their other policies."""
    ref = policy.ref
    with transaction.atomic():
        enforcement.release_waiters(policy)
        policy.delete()
        bump_content_version()
    logger.info("policy=%s deleted", ref)


def after_save(policy: Policy) -> None:
    """Let waiting executions go on when the policy no longer limits them, or into the places a
    raised threshold opened, and tell every process's caches."""
    if policy.is_enabled and policy.policy_type in CONCURRENCY_TYPES:
        enforcement.fill_free_places(policy)
    else:
        enforcement.release_waiters(policy)
    if policy.policy_type not in CONCURRENCY_TYPES:
        policy.slots.all().delete()  # it no longer counts places (its type changed)
    bump_content_version()


def sync_pack_policies(pack, specs: list[PolicySpec]) -> None:
    """Make the pack's policies exactly `specs` (inside the caller's transaction); raise
    PackInvalid if one names an action that does not exist."""
    errors = [error for spec in specs for error in resource_errors(spec, spec.metadata_file)]
    if errors:
        raise PackInvalid(errors)
    names = {spec.name for spec in specs}
    for policy in pack.policies.exclude(name__in=names):
        delete_policy(policy)
    existing = {policy.name: policy for policy in pack.policies.all()}
    for spec in specs:
        policy = existing.get(spec.name) or Policy(pack=pack, ref=f"{pack.ref}.{spec.name}")
        apply_spec(policy, spec)
        policy.save()
        after_save(policy)
