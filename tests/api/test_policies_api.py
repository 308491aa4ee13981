"""Policies over the API and from packs: listing, CRUD for staff, validation naming the field."""

import shutil

import pytest

from apps.packs.models import Pack
from apps.packs.services import PackRefused, register_pack
from apps.policies.models import Policy
from tests.api.conftest import FIXTURE_PACKS

pytestmark = pytest.mark.django_db

POLICYTEST = FIXTURE_PACKS / "policytest"


@pytest.fixture
def policy_pack(db):
    return register_pack(POLICYTEST)


def retry_body(**changes):
    body = {
        "pack": "ops",
        "name": "unlimited.retry",
        "resource_ref": "policytest.unlimited",
        "policy_type": "action.retry",
        "parameters": {"max_retry_count": 3, "delay": 1},
    }
    return {**body, **changes}


def error_fields(response) -> list[str]:
    return sorted(error["field"] for error in response.json()["errors"])


def test_pack_policies_are_listed_in_stackstorm_shape(alice_api, policy_pack):
    response = alice_api.get("/api/v1/policies", {"resource_ref": "policytest.per_host"})

    assert response.status_code == 200
    [policy] = response.json()["results"]
    assert policy["ref"] == "policytest.per_host.concurrency"
    assert policy["pack"] == "policytest"
    assert policy["policy_type"] == "action.concurrency.attr"
    assert policy["parameters"] == {"action": "delay", "threshold": 1, "attributes": ["host"]}
    assert policy["enabled"] is True
    assert policy["metadata_file"] == "policies/per_host.yaml"


def test_staff_creates_reads_changes_and_deletes_a_policy(staff_api, policy_pack):
    created = staff_api.post("/api/v1/policies", retry_body(), format="json")
    assert created.status_code == 201, created.content
    assert created.json()["ref"] == "ops.unlimited.retry"
    assert created.json()["parameters"] == {
        "retry_on": "failure",
        "max_retry_count": 3,
        "delay": 1,
        "backoff": 1,
    }

    patched = staff_api.patch(
        "/api/v1/policies/ops.unlimited.retry", {"enabled": False}, format="json"
    )
    assert patched.status_code == 200, patched.content
    assert patched.json()["enabled"] is False
    assert patched.json()["parameters"]["max_retry_count"] == 3

    replaced = staff_api.put(
        "/api/v1/policies/ops.unlimited.retry",
        retry_body(parameters={"retry_on": "timeout"}),
        format="json",
    )
    assert replaced.status_code == 200, replaced.content
    assert replaced.json()["parameters"]["retry_on"] == "timeout"
    assert replaced.json()["enabled"] is True

    assert staff_api.delete("/api/v1/policies/ops.unlimited.retry").status_code == 204
    assert staff_api.get("/api/v1/policies/ops.unlimited.retry").status_code == 404


def test_policy_for_an_unknown_action_is_refused_naming_resource_ref(staff_api, policy_pack):
    response = staff_api.post(
        "/api/v1/policies", retry_body(resource_ref="policytest.nope"), format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_policy"
    assert error_fields(response) == ["resource_ref"]
    assert not Policy.objects.filter(ref="ops.unlimited.retry").exists()


def test_bad_parameters_are_refused_naming_each_one(staff_api, policy_pack):
    body = retry_body(
        policy_type="action.concurrency",
        parameters={"threshold": -1, "action": "explode", "retries": 3},
    )
    response = staff_api.post("/api/v1/policies", body, format="json")

    assert response.status_code == 400
    assert error_fields(response) == [
        "parameters.action",
        "parameters.retries",
        "parameters.threshold",
    ]
    assert "parameters.threshold" in response.json()["detail"]


def test_missing_policy_type_is_a_field_error(staff_api, policy_pack):
    body = retry_body()
    del body["policy_type"]
    response = staff_api.post("/api/v1/policies", body, format="json")

    assert response.status_code == 400
    assert "policy_type" in response.json()["errors"]


def test_a_second_policy_with_the_same_ref_is_refused(staff_api, policy_pack):
    assert staff_api.post("/api/v1/policies", retry_body(), format="json").status_code == 201
    again = staff_api.post("/api/v1/policies", retry_body(), format="json")

    assert again.status_code == 400
    assert error_fields(again) == ["name"]


def test_only_staff_change_policies(alice_api, anonymous_api, policy_pack):
    assert alice_api.post("/api/v1/policies", retry_body(), format="json").status_code == 403
    ref = "/api/v1/policies/policytest.pair.concurrency"
    assert alice_api.delete(ref).status_code == 403
    assert alice_api.get(ref).status_code == 200
    assert anonymous_api.get(ref).status_code == 401


def test_policy_types_list_their_parameters_and_defaults(alice_api):
    types = {t["name"]: t["parameters"] for t in alice_api.get("/api/v1/policytypes").json()}

    assert types["action.concurrency"] == {"action": "delay", "threshold": 10}
    assert types["action.concurrency.attr"]["attributes"] is None
    assert set(types["action.retry"]) == {"retry_on", "max_retry_count", "delay", "backoff"}


def test_pack_with_a_policy_on_an_unknown_action_is_refused_whole(tmp_path, db):
    pack_dir = tmp_path / "policytest"
    shutil.copytree(POLICYTEST, pack_dir)
    (pack_dir / "policies" / "ghost.yaml").write_text(
        "name: ghost\nresource_ref: policytest.ghost\npolicy_type: action.retry\n"
    )

    with pytest.raises(PackRefused) as refused:
        register_pack(pack_dir)

    assert refused.value.errors == [
        {
            "file": "policies/ghost.yaml",
            "field": "resource_ref",
            "message": "action 'policytest.ghost' does not exist",
        }
    ]
    assert not Pack.objects.filter(ref="policytest").exists()
    assert not Policy.objects.exists()


def test_invalid_policy_file_is_reported_with_file_and_field(tmp_path, db):
    pack_dir = tmp_path / "policytest"
    shutil.copytree(POLICYTEST, pack_dir)
    (pack_dir / "policies" / "pair.yaml").write_text(
        "name: pair.concurrency\nresource_ref: policytest.pair\n"
        "policy_type: action.concurrency\nparameters: {threshold: many}\n"
    )

    with pytest.raises(PackRefused) as refused:
        register_pack(pack_dir)

    assert refused.value.errors[0]["file"] == "policies/pair.yaml"
    assert refused.value.errors[0]["field"] == "parameters.threshold"


def test_re_registering_removes_policies_whose_files_are_gone(tmp_path, db):
    pack_dir = tmp_path / "policytest"
    shutil.copytree(POLICYTEST, pack_dir)
    register_pack(pack_dir)
    (pack_dir / "policies" / "pair.yaml").unlink()

    register_pack(pack_dir)

    refs = set(Policy.objects.values_list("ref", flat=True))
    assert "policytest.pair.concurrency" not in refs
    assert "policytest.one_at_a_time.concurrency" in refs
