"""Managing roles: the API (`/api/v1/rbac/roles`, `/assignments`), YAML files loaded with
`manage.py load_rbac`, and the Django admin — each changing what a user may do."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from apps.rbac.models import Grant, Role, RoleAssignment
from tests.api.conftest import FIXTURE_PACKS
from tests.api.factories import api_client, make_user

pytestmark = pytest.mark.django_db

API = "/api/v1/rbac"
RUN_GREET = {"action": "examples.greet", "parameters": {"name": "x"}}


@pytest.fixture
def private_examples(db):
    """The examples pack, owned by someone else than the users under test."""
    from apps.packs.services import register_pack

    return register_pack(FIXTURE_PACKS / "examples", owner=make_user("owner"))


def runner_role() -> dict:
    return {
        "name": "examples_runner",
        "description": "Runs the examples",
        "permission_grants": [
            {"resource_uid": "pack:examples", "permission_types": ["action_view", "action_execute"]}
        ],
    }


def test_a_role_created_and_assigned_through_the_api_lets_its_holder_run(
    staff_api, private_examples
):
    carol = make_user("carol")
    carol_api = api_client(carol)
    assert carol_api.post("/api/v1/executions", RUN_GREET, format="json").status_code == 404

    created = staff_api.post(f"{API}/roles", runner_role(), format="json")
    assigned = staff_api.post(
        f"{API}/assignments", {"role": "examples_runner", "user": "carol"}, format="json"
    )

    assert created.status_code == 201, created.content
    assert created.json()["permission_grants"] == [
        {"resource_uid": "pack:examples", "permission_types": ["action_view", "action_execute"]}
    ]
    assert assigned.status_code == 201, assigned.content
    assert api_client(carol).post("/api/v1/executions", RUN_GREET, format="json").status_code == 201


def test_a_role_assigned_to_a_group_reaches_its_members(staff_api, private_examples):
    dave = make_user("dave")
    Group.objects.create(name="ops").user_set.add(dave)
    staff_api.post(f"{API}/roles", runner_role(), format="json")

    staff_api.post(f"{API}/assignments", {"role": "examples_runner", "group": "ops"}, format="json")

    assert api_client(dave).post("/api/v1/executions", RUN_GREET, format="json").status_code == 201


def test_removing_an_assignment_takes_the_permission_away(staff_api, private_examples):
    erin = make_user("erin")
    staff_api.post(f"{API}/roles", runner_role(), format="json")
    assignment = staff_api.post(
        f"{API}/assignments", {"role": "examples_runner", "user": "erin"}, format="json"
    ).json()

    assert staff_api.delete(f"{API}/assignments/{assignment['id']}").status_code == 204
    assert api_client(erin).get("/api/v1/actions/examples.greet").status_code == 404


def test_only_admins_manage_roles(alice_api):
    assert alice_api.get(f"{API}/roles").status_code == 403
    assert alice_api.post(f"{API}/roles", runner_role(), format="json").status_code == 403
    assert not Role.objects.filter(name="examples_runner").exists()


def test_holders_of_the_admin_role_manage_roles(db):
    frank = make_user("frank")
    RoleAssignment.objects.create(role=Role.objects.get(name="admin"), user=frank)

    assert api_client(frank).post(f"{API}/roles", runner_role(), format="json").status_code == 201


def test_system_roles_are_listed_and_cannot_be_changed(staff_api):
    names = [role["name"] for role in staff_api.get(f"{API}/roles").json()["results"]]
    answer = staff_api.put(f"{API}/roles/viewer", runner_role(), format="json")

    assert {"admin", "operator", "viewer"} <= set(names)
    assert answer.status_code == 409
    assert staff_api.delete(f"{API}/roles/admin").status_code == 409


def test_an_unknown_permission_type_is_a_400_naming_it(staff_api):
    body = {**runner_role(), "permission_grants": [{"permission_types": ["action_fly"]}]}

    answer = staff_api.post(f"{API}/roles", body, format="json")

    assert answer.status_code == 400
    assert "action_fly" in answer.json()["detail"]
    assert not Role.objects.filter(name="examples_runner").exists()


def test_assigning_twice_is_a_409(staff_api):
    make_user("gina")
    body = {"role": "viewer", "user": "gina"}
    assert staff_api.post(f"{API}/assignments", body, format="json").status_code == 201

    assert staff_api.post(f"{API}/assignments", body, format="json").status_code == 409


# --- YAML files ------------------------------------------------------------------------------

ROLE_YAML = """---
name: "examples_runner"
description: "StackStorm format"
enabled: true
permission_grants:
  - resource_uid: "pack:examples"
    permission_types:
      - "action_view"
      - "action_execute"
  - permission_types:
      - "sensor_type_list"
      - "key_value_pair_view"
"""
ASSIGNMENT_YAML = """---
username: "hank"
description: "Hank runs the examples"
roles:
  - "examples_runner"
enabled: true
"""


def write_rbac(tmp_path, roles: dict, assignments: dict):
    for folder, files in (("roles", roles), ("assignments", assignments)):
        (tmp_path / folder).mkdir(exist_ok=True)
        for name, text in files.items():
            (tmp_path / folder / name).write_text(text)
    return tmp_path


def test_load_rbac_reads_stackstorm_role_and_assignment_files(tmp_path, private_examples):
    hank = make_user("hank")
    write_rbac(tmp_path, {"runner.yaml": ROLE_YAML}, {"hank.yaml": ASSIGNMENT_YAML})

    call_command("load_rbac", str(tmp_path))

    grants = Grant.objects.filter(role__name="examples_runner")
    assert sorted(grants.values_list("permission_type", "pack_ref")) == [
        ("action_execute", "examples"),
        ("action_view", "examples"),
        ("key_view", ""),
        ("sensor_list", ""),
    ]
    assert api_client(hank).post("/api/v1/executions", RUN_GREET, format="json").status_code == 201


def test_loading_again_removes_what_the_files_no_longer_hold(tmp_path, private_examples):
    make_user("hank")
    write_rbac(tmp_path, {"runner.yaml": ROLE_YAML}, {"hank.yaml": ASSIGNMENT_YAML})
    call_command("load_rbac", str(tmp_path))

    (tmp_path / "assignments" / "hank.yaml").unlink()
    call_command("load_rbac", str(tmp_path))

    assert not RoleAssignment.objects.filter(user__username="hank").exists()
    assert Role.objects.filter(name="examples_runner").exists()


def test_a_bad_file_stops_the_load_naming_the_file_and_writes_nothing(tmp_path):
    bad = ROLE_YAML.replace("action_execute", "action_teleport")
    write_rbac(
        tmp_path, {"good.yaml": ROLE_YAML.replace("examples_runner", "ok"), "bad.yaml": bad}, {}
    )

    with pytest.raises(CommandError, match=r"bad\.yaml.*action_teleport"):
        call_command("load_rbac", str(tmp_path))

    assert not Role.objects.filter(name__in=["ok", "examples_runner"]).exists()


def test_an_assignment_to_an_unknown_user_is_refused(tmp_path):
    write_rbac(tmp_path, {"runner.yaml": ROLE_YAML}, {"ghost.yaml": ASSIGNMENT_YAML})

    with pytest.raises(CommandError, match="no user named 'hank'"):
        call_command("load_rbac", str(tmp_path))

    assert not Role.objects.filter(name="examples_runner").exists()


# --- the admin ---------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client):
    client.force_login(get_user_model().objects.create_superuser("root"))
    return client


def test_the_admin_lists_roles_and_protects_system_roles(admin_client):
    admin = Role.objects.get(name="admin")

    listing = admin_client.get("/admin/rbac/role/")
    deleting = admin_client.get(f"/admin/rbac/role/{admin.pk}/delete/")

    assert listing.status_code == 200
    assert b"operator" in listing.content
    assert deleting.status_code == 403


def test_a_role_added_in_the_admin_grants_its_permissions(admin_client, private_examples):
    ivan = make_user("ivan")
    form = {
        "name": "via_admin",
        "description": "",
        "is_enabled": "on",
        "grants-TOTAL_FORMS": "1",
        "grants-INITIAL_FORMS": "0",
        "grants-0-permission_type": "action_view",
        "grants-0-pack_ref": "examples",
        "grants-0-resource_ref": "",
        "assignments-TOTAL_FORMS": "1",
        "assignments-INITIAL_FORMS": "0",
        "assignments-0-user": str(ivan.pk),
        "assignments-0-description": "",
    }

    answer = admin_client.post("/admin/rbac/role/add/", form)

    assert answer.status_code == 302, answer.content[:2000]
    assert api_client(ivan).get("/api/v1/actions/examples.greet").status_code == 200
