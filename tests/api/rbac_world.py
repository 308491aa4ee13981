"""A small world for authorization tests: content owned by `olga`, and one user per persona.

Personas: `admin_role` (holds the admin role, not staff), `operator`, `viewer` (system roles),
`outsider` (no role). Olga owns private packs and everything in them.
"""

from dataclasses import dataclass

from django.utils import timezone

from apps.packs.services import register_pack
from apps.rbac.models import Role, RoleAssignment
from apps.rules.models import Rule, RuleEnforcement
from apps.sensors.models import Sensor
from apps.triggers.models import TriggerInstance, TriggerType
from tests.api.conftest import FIXTURE_PACKS, REPO_ROOT
from tests.api.factories import api_client, make_execution, make_user

PERSONAS = ("admin_role", "operator", "viewer", "outsider")
ROLE_OF = {"admin_role": "admin", "operator": "operator", "viewer": "viewer"}


def give_role(user, role_name: str) -> None:
    RoleAssignment.objects.create(role=Role.objects.get(name=role_name), user=user)


@dataclass
class World:
    owner: object
    execution: object
    rule: Rule
    sensor: Sensor
    trigger_type: TriggerType
    trigger_instance: TriggerInstance
    enforcement: RuleEnforcement
    clients: dict


def build_world() -> World:
    register_pack(REPO_ROOT / "packs" / "core")
    owner = make_user("olga")
    for pack in ("examples", "sensorpack", "policytest"):
        register_pack(FIXTURE_PACKS / pack, owner=owner)
    rule = Rule.objects.get(ref="examples.on_examples_hook")
    sensor = Sensor.objects.filter(pack__ref="sensorpack").first()
    trigger_type = TriggerType.objects.filter(pack__ref="sensorpack").first()
    instance = TriggerInstance.objects.create(
        trigger_type=trigger_type,
        trigger_ref=trigger_type.ref,
        trigger_key=trigger_type.ref,
        payload={"secret plan": 1},
        source="sensor",
        occurred_at=timezone.now(),
    )
    enforcement = RuleEnforcement.objects.create(
        rule=rule, rule_ref=rule.ref, trigger_instance=instance, status="not_matched"
    )
    clients = {"owner": api_client(owner)}
    for persona in PERSONAS:
        user = make_user(persona)
        if persona in ROLE_OF:
            give_role(user, ROLE_OF[persona])
        clients[persona] = api_client(user)
    execution = make_execution("examples.greet", created_by=owner, parameters={"name": "x"})
    execution.supplied_parameters = {"name": "x"}
    execution.save(update_fields=["supplied_parameters"])
    return World(
        owner=owner,
        execution=execution,
        rule=rule,
        sensor=sensor,
        trigger_type=trigger_type,
        trigger_instance=instance,
        enforcement=enforcement,
        clients=clients,
    )
