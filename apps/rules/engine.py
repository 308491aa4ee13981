"""The rules engine: match a trigger instance against its rules, record every enforcement,
and request the executions of the rules that matched.

Candidate rules come from an index (`trigger_key`) and are compiled once per content version,
so an event costs one lookup of its own rules, never a scan.
"""

import logging
from contextlib import nullcontext
from dataclasses import dataclass, field

import psycopg
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from apps.accounts.cache import credentials
from apps.audit.services import outside_request
from apps.core.cache import ContentCache, one_read_of_versions
from apps.core.exceptions import AttuneError
from apps.core.templating import TemplateRenderError, render_value
from apps.datastore.templates import Datastore, string_leaves
from apps.executions.masking import mask_secret_values
from apps.executions.services import request_execution, runnable_action
from apps.notifications.services import publish
from apps.rbac.services import owner_may_run
from apps.rules.casting import cast_to_declared_types
from apps.rules.choices import EnforcementStatus
from apps.rules.criteria import compile_criteria, evaluate
from apps.rules.events import enforcement_event
from apps.rules.models import Rule, RuleEnforcement
from apps.triggers.choices import TriggerInstanceStatus
from apps.triggers.models import TriggerInstance
from apps.triggers.secrets import secret_values
from apps.triggers.services import trigger_type_secret_paths

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CompiledRule:
    id: int
    ref: str
    criteria: object
    action_ref: str
    action_parameters: dict
    owner: object  # the rule's owner (a user) or None; executions run on their behalf


@dataclass
class Outcome:
    """What enforcing one rule against one payload gives (without side effects)."""

    status: str
    reason: str = ""
    criteria_results: list | None = None
    parameters: dict | None = None
    revealed_secrets: list = field(default_factory=list)  # decrypted by `decrypt_kv`


_rules = ContentCache()


def load_rules(key: str) -> list[CompiledRule]:
    rules = Rule.objects.enabled().filter(trigger_key=key).select_related("owner").order_by("id")
    return [compile_rule(rule) for rule in rules]


def compile_rule(rule: Rule) -> CompiledRule:
    return CompiledRule(
        id=rule.pk,
        ref=rule.ref,
        criteria=compile_criteria(rule.criteria),
        action_ref=rule.action_ref,
        action_parameters=rule.action_parameters,
        owner=rule.owner,
    )


def process_trigger_instances(instance_ids: list[int]) -> list[int]:
    """Enforce the enabled rules of the still-pending instances among `instance_ids`, all in
    one transaction; return the ids left for a later transaction.

    Rows another engine holds are skipped (it is processing them); a batch costs a handful of
    statements whatever its size, plus one execution request per matched rule. A batch stops
    taking instances once it holds ENFORCEMENTS_PER_TRANSACTION rule evaluations (at least one
    instance), so a trigger with thousands of rules makes short transactions, not one huge one.
    """
    with one_read_of_versions(), transaction.atomic():
        pending = list(
            TriggerInstance.objects.select_for_update(skip_locked=True)
            .filter(pk__in=instance_ids, status=TriggerInstanceStatus.PENDING)
            .only("id", "trigger_ref", "trigger_key", "payload", "note")
            .order_by("id")
        )
        if not pending:
            return []
        rules_by_key = _rules.get_many({i.trigger_key for i in pending}, load_rules)
        instances, later = take_within_limit(pending, rules_by_key)
        enforcements = enforce_all(instances, rules_by_key)
        TriggerInstance.objects.filter(pk__in=[i.pk for i in instances]).update(
            status=TriggerInstanceStatus.PROCESSED, processed_at=timezone.now()
        )
    log_processed(instances, enforcements)
    return [i.pk for i in later]


def enforce_all(instances: list, rules_by_key: dict, *, savepoints: bool = True) -> list:
    """Enforce each instance's rules and record every enforcement; return them.

    With `savepoints`, a matched rule whose execution the database refuses fails alone;
    without, it fails the caller's whole transaction (see `enforce_inline`).
    """
    secret_paths = {
        ref: trigger_type_secret_paths(ref) for ref in {i.trigger_ref for i in instances}
    }
    enforcements = []
    owners_version = credentials.current_version()  # whose rules may still run what
    for instance in instances:
        secrets = secret_values(instance.payload, secret_paths[instance.trigger_ref])
        rules = rules_by_key[instance.trigger_key]
        enforcements += [
            enforce(rule, instance, secrets, owners_version, savepoint=savepoints) for rule in rules
        ]
    record_enforcements(enforcements)
    return enforcements


def log_processed(instances: list, enforcements: list) -> None:
    logger.info(
        "processed %s trigger instances (%s enforcements): %s",
        len(instances),
        len(enforcements),
        ",".join(str(i.pk) for i in instances),
    )


def rules_for_inline(trigger_key: str) -> list[CompiledRule] | None:
    """The enabled rules on `trigger_key` when there are few enough to enforce them in the
    request that records the instance; None when the engine should take it."""
    rules = _rules.get(trigger_key, load_rules)
    return rules if len(rules) <= INLINE_RULES_LIMIT else None


def enforce_inline(instance: TriggerInstance, rules: list[CompiledRule]) -> None:
    """Enforce `rules` on an instance created `processed` in the caller's transaction (see
    `apps.webhooks.services.dispatch_webhook`).

    No savepoint per rule: if the database refuses an execution, the caller's transaction is
    undone and the rules engine takes the instance, where that rule fails alone.
    """
    with outside_request():
        enforcements = enforce_all([instance], {instance.trigger_key: rules}, savepoints=False)
    log_processed([instance], enforcements)


def take_within_limit(instances: list, rules_by_key: dict) -> tuple[list, list]:
    """Split `instances` into those this transaction takes and those it leaves for later."""
    evaluations = 0
    for count, instance in enumerate(instances):
        evaluations += len(rules_by_key[instance.trigger_key])
        if evaluations > ENFORCEMENTS_PER_TRANSACTION and count > 0:
            return instances[:count], instances[count:]
    return instances, []


def fail_trigger_instance(instance_id: int, error: str) -> None:
    """Record that the engine could not process a pending instance, so it is not retried."""
    TriggerInstance.objects.filter(pk=instance_id, status=TriggerInstanceStatus.PENDING).update(
        status=TriggerInstanceStatus.FAILED, processed_at=timezone.now(), error=error[:1000]
    )


@dataclass
class Enforcement:
    """One enforcement row to write (plain data: building model instances cost more than the
    evaluation itself on triggers with many rules)."""

    rule_id: int
    rule_ref: str
    trigger_instance_id: int
    trigger_ref: str
    owner_id: int | None
    status: str
    reason: str
    criteria_results: list
    execution_id: int | None = None


ENFORCEMENT_COLUMNS = (
    "rule_id",
    "rule_ref",
    "trigger_instance_id",
    "status",
    "execution_id",
    "reason",
    "criteria_results",
    "enforced_at",
)
# Rule evaluations (enforcement rows and their events) per transaction of the engine.
ENFORCEMENTS_PER_TRANSACTION = 2000
# A webhook whose trigger has at most this many enabled rules has them enforced in its own
# request (`rules_for_inline`); beyond, the 202 would wait on the evaluations: the engine does it.
INLINE_RULES_LIMIT = 20
# Rows per INSERT: 8,000 parameters, well under SQLite's and PostgreSQL's limits.
ENFORCEMENT_ROWS_PER_INSERT = 1000


def enforce(
    rule: CompiledRule,
    instance: TriggerInstance,
    payload_secrets: list,
    owners_version,
    *,
    savepoint: bool = True,
) -> Enforcement:
    outcome = evaluate_for_owner(rule, instance.payload, payload_secrets, owners_version)
    enforcement = Enforcement(
        rule.id,
        rule.ref,
        instance.pk,
        instance.trigger_ref,
        getattr(rule.owner, "pk", None),
        outcome.status,
        outcome.reason,
        outcome.criteria_results or [],
    )
    if outcome.status != EnforcementStatus.MATCHED:
        return enforcement
    try:
        # Without a savepoint, no block of our own either: a refusal leaving an inner block
        # would mark the caller's whole transaction for rollback.
        with transaction.atomic() if savepoint else nullcontext():
            enforcement.execution_id = request_execution(
                rule.action_ref,
                outcome.parameters,
                user=rule.owner,
                context=execution_context(rule, instance),
                revealed_secrets=outcome.revealed_secrets,
            ).pk
    except AttuneError as exc:
        enforcement.status = EnforcementStatus.FAILED
        enforcement.reason = exc.detail
    except DatabaseError as exc:  # e.g. a rendered value the database cannot store
        enforcement.status = EnforcementStatus.FAILED
        enforcement.reason = f"could not record the execution: {exc}"
    return enforcement


def evaluate_for_owner(rule: CompiledRule, payload, payload_secrets, owners_version) -> Outcome:
    """`evaluate_rule`, then the owner's right: a match whose owner may no longer run the
    action fails, saying so."""
    outcome = evaluate_rule(rule, payload, payload_secrets)
    if outcome.status == EnforcementStatus.MATCHED and not owner_allowed(rule, owners_version):
        return Outcome(
            EnforcementStatus.FAILED,
            f"the rule's owner {rule.owner.username} may no longer run {rule.action_ref}",
            outcome.criteria_results,
        )
    return outcome


def owner_allowed(rule: CompiledRule, owners_version) -> bool:
    """A rule runs its action on its owner's behalf: only while they may (rules nobody owns
    come with the installation's packs and run with its rights)."""
    return rule.owner is None or owner_may_run(rule.owner.pk, rule.action_ref, owners_version)


def record_enforcements(enforcements: list[Enforcement]) -> None:
    """Insert all enforcement rows of a batch in bulk, and announce them.

    The ORM's bulk_create compiles SQL per row and field; on a trigger with a thousand rules
    that was half of the engine's time.
    """
    if not enforcements:
        return
    json_field = RuleEnforcement._meta.get_field("criteria_results")
    enforced_at = timezone.now()
    enforced_at_db = RuleEnforcement._meta.get_field("enforced_at").get_db_prep_save(
        enforced_at, connection
    )
    rows = [
        (
            e.rule_id,
            e.rule_ref,
            e.trigger_instance_id,
            e.status,
            e.execution_id,
            e.reason,
            json_field.get_db_prep_save(e.criteria_results, connection),
        )
        for e in enforcements
    ]
    insert = insert_with_unnest if connection.vendor == "postgresql" else insert_with_values
    ids = insert(rows, enforced_at_db)
    announce_enforcements(enforcements, ids, enforced_at)


def _enforcement_table() -> tuple[str, str]:
    table = connection.ops.quote_name(RuleEnforcement._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in ENFORCEMENT_COLUMNS)
    return table, columns


def insert_with_unnest(rows: list[tuple], enforced_at) -> dict:
    """PostgreSQL: one INSERT … SELECT FROM unnest(arrays) with the arrays sent in binary.

    A VALUES list of 8,000 placeholders, or arrays quoted into the SQL text (Django's
    client-side binding), cost more to build than the insert itself; binary parameters need a
    server-side-binding cursor on the same connection (so the same transaction).
    Returns {(trigger_instance_id, rule_id): id}.
    """
    table, columns = _enforcement_table()
    rule_ids, refs, instance_ids, statuses, execution_ids, reasons, results = (
        list(column) for column in zip(*rows, strict=True)
    )
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) "
            "SELECT rule_id, rule_ref, instance_id, status, execution_id, reason, results, %b "
            "FROM unnest(%b::bigint[], %b::text[], %b::bigint[], %b::text[], %b::bigint[], "
            "%b::text[], %b::jsonb[]) "
            "AS t(rule_id, rule_ref, instance_id, status, execution_id, reason, results) "
            "RETURNING trigger_instance_id, rule_id, id",
            [enforced_at, rule_ids, refs, instance_ids, statuses, execution_ids, reasons, results],
        )
        return {(instance_id, rule_id): pk for instance_id, rule_id, pk in cursor.fetchall()}


def insert_with_values(rows: list[tuple], enforced_at) -> dict:
    """Other databases: multi-row INSERT … VALUES of plain values.
    Returns {(trigger_instance_id, rule_id): id}."""
    table, columns = _enforcement_table()
    row_placeholders = "(" + ", ".join(["%s"] * len(ENFORCEMENT_COLUMNS)) + ")"
    ids = {}
    with connection.cursor() as cursor:
        for start in range(0, len(rows), ENFORCEMENT_ROWS_PER_INSERT):
            chunk = rows[start : start + ENFORCEMENT_ROWS_PER_INSERT]
            values = ", ".join([row_placeholders] * len(chunk))
            params = [value for row in chunk for value in (*row, enforced_at)]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {values} "
                "RETURNING trigger_instance_id, rule_id, id",
                params,
            )
            ids.update({(i, rule_id): pk for i, rule_id, pk in cursor.fetchall()})
    return ids


def announce_enforcements(enforcements: list[Enforcement], ids: dict, enforced_at) -> None:
    """One `enforcement.created` event per enforcement, shaped like the REST representation."""
    publish(
        *(
            enforcement_event(
                {
                    "id": ids[e.trigger_instance_id, e.rule_id],
                    "rule_ref": e.rule_ref,
                    "trigger_instance": e.trigger_instance_id,
                    "status": e.status,
                    "execution": e.execution_id,
                    "reason": e.reason,
                    "criteria_results": e.criteria_results,
                    "enforced_at": enforced_at.isoformat(),
                },
                e.owner_id,
                e.trigger_ref,
            )
            for e in enforcements
        )
    )


def execution_context(rule: CompiledRule, instance: TriggerInstance) -> dict:
    return {
        "rule": rule.ref,
        "trigger_instance": instance.pk,
        "trigger": instance.trigger_ref,
        "webhook_hops": webhook_hops(instance),
    }


def webhook_hops(instance: TriggerInstance) -> int:
    """How many webhooks led to this instance (carried on by HTTP actions to stop loops)."""
    if instance.note.startswith("hop "):
        return int(instance.note[4:])
    return 0


def evaluate_rule(rule: CompiledRule, payload, payload_secrets=()) -> Outcome:
    """Decide whether the rule matches `payload` and render its action parameters if so.

    Templates may read the datastore as the rule's owner (`st2kv.system.x`, `st2kv.user.x`).
    `payload_secrets` (values of the payload's secret fields) are treated like decrypted
    datastore secrets: masked in the enforcement, allowed only into secret parameters.
    """
    datastore = Datastore(rule.owner)
    datastore.revealed.extend(string_leaves(list(payload_secrets)))
    context = {"trigger": payload, "st2kv": datastore}
    result = evaluate(rule.criteria, payload, lambda pattern: render_value(pattern, context))
    # A criteria pattern may have decrypted a secret: the enforcement record shows it masked.
    details = mask_secret_values([c.as_dict() for c in result.criteria], datastore.revealed)
    if result.error:
        return Outcome(EnforcementStatus.FAILED, result.error, details)
    if not result.matched:
        reason = mask_secret_values(result.reason or "", datastore.revealed)
        return Outcome(EnforcementStatus.NOT_MATCHED, reason, details)
    try:
        parameters = render_value(rule.action_parameters, context)
    except TemplateRenderError as exc:
        return Outcome(EnforcementStatus.FAILED, f"action parameters: {exc}", details)
    action = runnable_action(rule.action_ref)
    if action is None:
        return Outcome(EnforcementStatus.FAILED, f"action {rule.action_ref!r} does not exist")
    parameters = cast_to_declared_types(action.specs, rule.action_parameters, parameters)
    return Outcome(EnforcementStatus.MATCHED, "", details, parameters, datastore.revealed)
