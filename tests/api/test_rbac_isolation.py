"""T1.7 and T3.11: two users with their own packs never see or touch each other's content
(404, never 403); system packs are visible and executable by everyone, changed by admins only."""

import pytest
from django.utils import timezone

from apps.packs.models import Pack
from apps.rbac.models import Grant, Role
from apps.rules.models import Rule, RuleEnforcement
from apps.triggers.models import TriggerInstance, TriggerType
from tests.api.conftest import REPO_ROOT
from tests.api.factories import api_client, make_user
from tests.api.rbac_world import give_role
from tests.support.packs import copy_pack

pytestmark = pytest.mark.django_db

API = "/api/v1"


@pytest.fixture
def authors(db):
    """A role that may register packs, held by ann and bob."""
    role = Role.objects.create(name="author")
    Grant.objects.create(role=role, permission_type="pack_create")
    users = {name: make_user(name) for name in ("ann", "bob")}
    for user in users.values():
        give_role(user, "author")
    return users


def build_private_world(name: str, user, tmp_path) -> dict:
    """Everything `user` can own, made through the API where the API makes it."""
    client = api_client(user)
    refs = {}
    for fixture in ("examples", "sensorpack", "policytest"):
        ref = f"{name}_{fixture}"
        answer = client.post(
            f"{API}/packs/register", {"path": str(own_copy(fixture, tmp_path, ref))}, format="json"
        )
        assert answer.status_code == 201, answer.content
        refs[fixture] = ref
    action = f"{refs['examples']}.greet"
    execution = client.post(
        f"{API}/executions", {"action": action, "parameters": {"name": name}}, format="json"
    ).json()
    rule = Rule.objects.get(pack__ref=refs["examples"])
    trigger_type = TriggerType.objects.filter(pack__ref=refs["sensorpack"]).first()
    instance = TriggerInstance.objects.create(
        trigger_type=trigger_type,
        trigger_ref=trigger_type.ref,
        trigger_key=trigger_type.ref,
        payload={"private": name},
        source="sensor",
        occurred_at=timezone.now(),
    )
    enforcement = RuleEnforcement.objects.create(
        rule=rule, rule_ref=rule.ref, trigger_instance=instance, status="not_matched"
    )
    key = client.put(f"{API}/keys/{name}-key?scope=user", {"value": 1}, format="json")
    assert key.status_code == 201
    policy = client.get(f"{API}/policies", {"pack__ref": refs["policytest"]}).json()["results"][0]
    sensor = client.get(f"{API}/sensors", {"pack__ref": refs["sensorpack"]}).json()["results"][0]
    return {
        "packs": (f"{API}/packs", f"{API}/packs/{refs['examples']}"),
        "actions": (f"{API}/actions", f"{API}/actions/{action}"),
        "rules": (f"{API}/rules", f"{API}/rules/{rule.ref}"),
        "sensors": (f"{API}/sensors", f"{API}/sensors/{sensor['ref']}"),
        "triggertypes": (f"{API}/triggertypes", f"{API}/triggertypes/{trigger_type.ref}"),
        "policies": (f"{API}/policies", f"{API}/policies/{policy['ref']}"),
        "executions": (f"{API}/executions", f"{API}/executions/{execution['id']}"),
        "triggerinstances": (f"{API}/triggerinstances", f"{API}/triggerinstances/{instance.pk}"),
        "enforcements": (f"{API}/enforcements", f"{API}/enforcements/{enforcement.pk}"),
        "keys": (f"{API}/keys?scope=user", f"{API}/keys/{name}-key?scope=user"),
        "_action": action,
        "_rule": rule.ref,
        "_sensor": sensor["ref"],
        "_policy": policy["ref"],
        "_execution": execution["id"],
        "_instance": instance.pk,
        "_pack_path": str(tmp_path / refs["examples"]),
    }


def own_copy(fixture: str, destination, ref: str):
    """A renamed copy of a fixture pack whose policies point at its own actions."""
    path = copy_pack(fixture, destination, ref)
    for policy in path.glob("policies/*.yaml"):
        policy.write_text(policy.read_text().replace(f"{fixture}.", f"{ref}."))
    return path


RESOURCE_TYPES = [
    "packs",
    "actions",
    "rules",
    "sensors",
    "triggertypes",
    "policies",
    "executions",
    "triggerinstances",
    "enforcements",
    "keys",
]


@pytest.fixture
def worlds(authors, tmp_path):
    (tmp_path / "ann").mkdir()
    (tmp_path / "bob").mkdir()
    return {
        name: build_private_world(name, user, tmp_path / name) for name, user in authors.items()
    }


def listed_paths(client, list_url: str) -> str:
    return client.get(list_url).content.decode()


@pytest.mark.parametrize("resource", RESOURCE_TYPES)
def test_neither_user_sees_the_others_resource(authors, worlds, resource):
    for me, other in (("ann", "bob"), ("bob", "ann")):
        client = api_client(authors[me])
        list_url, mine = worlds[me][resource]
        _, theirs = worlds[other][resource]

        assert client.get(mine).status_code == 200
        answer = client.get(theirs)
        assert answer.status_code == 404, (theirs, answer.content)
        assert f"{other}_" not in listed_paths(client, list_url)
        assert f"{other}-key" not in listed_paths(client, list_url)


def test_neither_user_can_touch_the_others_content(authors, worlds):
    bob, ann = api_client(authors["bob"]), worlds["ann"]
    attempts = [
        bob.post(
            f"{API}/executions",
            {"action": ann["_action"], "parameters": {"name": "b"}},
            format="json",
        ),
        bob.post(f"{API}/executions/{ann['_execution']}/cancel"),
        bob.post(f"{API}/executions/{ann['_execution']}/rerun", {}, format="json"),
        bob.patch(f"{API}/rules/{ann['_rule']}", {"enabled": False}, format="json"),
        bob.delete(f"{API}/rules/{ann['_rule']}"),
        bob.patch(f"{API}/sensors/{ann['_sensor']}", {"enabled": True}, format="json"),
        bob.delete(f"{API}/policies/{ann['_policy']}"),
        bob.post(f"{API}/triggerinstances/{ann['_instance']}/reemit"),
        bob.delete(f"{API}/keys/ann-key?scope=user"),
    ]

    assert [a.status_code for a in attempts] == [404] * len(attempts)
    assert Rule.objects.get(ref=ann["_rule"]).is_enabled is True


def test_a_user_cannot_register_over_someone_elses_pack(authors, worlds):
    bob = api_client(authors["bob"])
    pack = Pack.objects.get(ref="ann_examples")

    answer = bob.post(f"{API}/packs/register", {"path": worlds["ann"]["_pack_path"]}, format="json")

    assert answer.status_code == 403
    assert "belongs to someone else" in answer.json()["detail"]
    assert Pack.objects.get(ref="ann_examples").updated_at == pack.updated_at


def test_a_user_cannot_create_rules_in_someone_elses_pack(authors, worlds):
    body = {
        "pack": "ann_examples",
        "name": "sneaky",
        "trigger": {"type": "core.st2.webhook", "parameters": {"url": "sneaky"}},
        "action": {"ref": "core.noop"},
    }

    answer = api_client(authors["bob"]).post(f"{API}/rules", body, format="json")

    assert answer.status_code == 403
    assert not Rule.objects.filter(ref="ann_examples.sneaky").exists()


def test_a_rule_may_not_run_an_action_its_owner_cannot_see(authors, worlds):
    body = {
        "pack": "bob_examples",
        "name": "borrow",
        "trigger": {"type": "core.st2.webhook", "parameters": {"url": "borrow"}},
        "action": {"ref": worlds["ann"]["_action"]},
    }

    answer = api_client(authors["bob"]).post(f"{API}/rules", body, format="json")

    assert answer.status_code == 403
    assert not Rule.objects.filter(ref="bob_examples.borrow").exists()


# --- T3.11: system packs --------------------------------------------------------------------


@pytest.fixture
def core(db):
    from apps.packs.services import register_pack

    return register_pack(REPO_ROOT / "packs" / "core")


def test_everyone_sees_and_runs_system_pack_actions(core):
    outsider = api_client(make_user("outsider"))

    assert outsider.get(f"{API}/packs/core").status_code == 200
    assert outsider.get(f"{API}/actions/core.noop").status_code == 200
    answer = outsider.post(f"{API}/executions", {"action": "core.noop"}, format="json")
    assert answer.status_code == 201


def test_only_admins_change_a_system_pack(core, authors):
    ann = api_client(authors["ann"])

    answer = ann.post(
        f"{API}/packs/register", {"path": str(REPO_ROOT / "packs" / "core")}, format="json"
    )

    assert answer.status_code == 403
    assert "only admins" in answer.json()["detail"]


def test_a_user_cannot_publish_a_system_pack(authors, tmp_path):
    path = copy_pack("examples", tmp_path, "mine_as_system")
    (path / "pack.yaml").write_text((path / "pack.yaml").read_text() + "system: true\n")

    answer = api_client(authors["ann"]).post(
        f"{API}/packs/register", {"path": str(path)}, format="json"
    )

    assert answer.status_code == 403
    assert not Pack.objects.filter(ref="mine_as_system").exists()


def test_an_admin_re_registers_a_system_pack(core, staff_api):
    answer = staff_api.post(
        f"{API}/packs/register", {"path": str(REPO_ROOT / "packs" / "core")}, format="json"
    )

    assert answer.status_code == 201


def test_a_rule_kept_outside_any_pack_is_private_to_its_creator(authors, core):
    ann, bob = api_client(authors["ann"]), api_client(authors["bob"])
    body = {
        "name": "mine",
        "trigger": {"type": "core.st2.webhook", "parameters": {"url": "ann-mine"}},
        "action": {"ref": "core.noop"},
    }

    assert ann.post(f"{API}/rules", body, format="json").status_code == 201
    assert ann.get(f"{API}/rules/default.mine").status_code == 200
    assert bob.get(f"{API}/rules/default.mine").status_code == 404


def test_an_admin_shares_a_pack_with_everyone(staff_api):
    path = str(REPO_ROOT / "tests" / "fixtures" / "packs" / "examples")

    answer = staff_api.post(f"{API}/packs/register", {"path": path, "shared": True}, format="json")

    assert answer.status_code == 201
    assert Pack.objects.get(ref="examples").owner is None
    assert api_client(make_user("outsider")).get(f"{API}/actions/examples.greet").status_code == 200


def test_only_admins_share_packs(authors):
    path = str(REPO_ROOT / "tests" / "fixtures" / "packs" / "examples")

    answer = api_client(authors["ann"]).post(
        f"{API}/packs/register", {"path": path, "shared": True}, format="json"
    )

    assert answer.status_code == 403
    assert not Pack.objects.filter(ref="examples").exists()


def test_webhook_instances_reach_the_rule_owner_only(authors, core):
    from apps.triggers.models import TriggerType

    webhook = TriggerType.objects.get(ref="core.st2.webhook")
    instance = TriggerInstance.objects.create(
        trigger_type=webhook,
        trigger_ref=webhook.ref,
        trigger_key="k",
        payload={"body": {"token": "ann's"}},
        source="webhook",
        occurred_at=timezone.now(),
    )
    rule = Rule.objects.create(
        ref="default.ann_hook",
        name="ann_hook",
        trigger_ref=webhook.ref,
        trigger_key="k",
        action_ref="core.noop",
        owner=authors["ann"],
    )
    RuleEnforcement.objects.create(
        rule=rule, rule_ref=rule.ref, trigger_instance=instance, status="matched"
    )
    url = f"{API}/triggerinstances/{instance.pk}"

    assert api_client(authors["ann"]).get(url).status_code == 200
    assert api_client(authors["bob"]).get(url).status_code == 404
