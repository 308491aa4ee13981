"""Per-pack Python virtualenvs on the live stack (T2.12, T3.19, T3.26, build failures)."""

import time

import pytest

from tests.support.packs import (
    FIXTURE_PACKS,
    copy_pack,
    current_environments,
    register,
    wait_for_environments,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def pinned_packs(stack, admin_api):
    """pinned_old (six==1.15.0) and pinned_new (six==1.16.0), registered and built."""
    for name in ("pinned_old", "pinned_new"):
        pack = register(admin_api, FIXTURE_PACKS / name)
        assert current_environments(pack)["python"]["status"] in ("building", "ready")
    return {name: wait_for_environments(admin_api, name) for name in ("pinned_old", "pinned_new")}


def test_registration_builds_a_virtualenv_the_pack_actions_import_from(pinned_packs, alice_api):
    environment = current_environments(pinned_packs["pinned_old"])["python"]
    assert environment["status"] == "ready", environment["log"]
    assert environment["files"] == {"requirements.txt": "six==1.15.0\n"}

    execution = alice_api.run_and_wait("pinned_old.versions")

    assert execution["status"] == "succeeded", execution["error"]
    result = execution["result"]["result"]
    assert result["six"] == "1.15.0"
    assert result["requests"] == "2.34.2"  # the documented default set
    assert result["has_django"] is False and result["has_celery"] is False  # no platform leak


def test_two_packs_pinning_conflicting_versions_run_side_by_side_at_once(
    pinned_packs, alice_api, tmp_path
):
    old = alice_api.run("pinned_old.versions", rendezvous=str(tmp_path), me="old", other="new")
    new = alice_api.run("pinned_new.versions", rendezvous=str(tmp_path), me="new", other="old")

    old, new = alice_api.wait_for(old["id"]), alice_api.wait_for(new["id"])

    # Each run waited for the other's file: both succeeding means they ran at the same time.
    assert old["status"] == new["status"] == "succeeded", (old["error"], new["error"])
    assert old["result"]["result"]["six"] == "1.15.0"
    assert new["result"]["result"]["six"] == "1.16.0"
    assert old["result"]["result"]["prefix"] != new["result"]["result"]["prefix"]


def test_unchanged_requirements_are_not_rebuilt_on_reregistration(pinned_packs, admin_api):
    before = current_environments(pinned_packs["pinned_new"])["python"]

    again = register(admin_api, FIXTURE_PACKS / "pinned_new")

    after = current_environments(again)["python"]
    assert after["status"] == "ready"
    assert (after["sha256"], after["built_at"]) == (before["sha256"], before["built_at"])


def test_reregistering_with_new_code_and_requirements_takes_effect_without_restart(
    stack, admin_api, alice_api, tmp_path
):
    path = copy_pack("pinned_old", tmp_path, "evolving")
    register(admin_api, path)
    wait_for_environments(admin_api, "evolving")
    first = alice_api.run_and_wait("evolving.versions")
    assert first["result"]["result"]["six"] == "1.15.0"
    workers_before = {name: p.pid for name, p in stack.processes.items()}

    (path / "requirements.txt").write_text("six==1.17.0\n")
    code = (path / "actions" / "versions.py").read_text()
    (path / "actions" / "versions.py").write_text(
        code.replace('"prefix": sys.prefix,', '"prefix": sys.prefix, "code": "v2",')
    )
    register(admin_api, path)
    pack = wait_for_environments(admin_api, "evolving")
    second = alice_api.run_and_wait("evolving.versions")

    assert current_environments(pack)["python"]["status"] == "ready"
    assert second["status"] == "succeeded", second["error"]
    assert second["result"]["result"]["six"] == "1.17.0"
    assert second["result"]["result"]["code"] == "v2"
    assert {name: p.pid for name, p in stack.processes.items()} == workers_before
    stack.check_alive()


def test_failed_build_is_reported_on_the_pack_and_the_previous_environment_keeps_working(
    stack, admin_api, alice_api, tmp_path
):
    path = copy_pack("pinned_new", tmp_path, "fragile")
    register(admin_api, path)
    wait_for_environments(admin_api, "fragile")

    (path / "requirements.txt").write_text("six==1.16.0\nattune-no-such-package-anywhere==9.9\n")
    code = (path / "actions" / "versions.py").read_text()
    (path / "actions" / "versions.py").write_text(
        code.replace('"prefix": sys.prefix,', '"prefix": sys.prefix, "code": "v2",')
    )
    register(admin_api, path)
    pack = wait_for_environments(admin_api, "fragile")
    execution = alice_api.run_and_wait("fragile.versions")

    failed = current_environments(pack)["python"]
    assert failed["status"] == "failed"
    assert "attune-no-such-package-anywhere" in failed["log"]
    assert "No matching distribution" in failed["log"]
    previous = [e for e in pack["environments"] if not e["is_current"]]
    assert [e["status"] for e in previous] == ["ready"]
    assert execution["status"] == "succeeded", execution["error"]
    assert execution["result"]["result"]["six"] == "1.16.0"  # the previous environment
    assert execution["result"]["result"]["code"] == "v2"  # with the new code


def test_a_pack_whose_first_environment_fails_reports_pip_on_its_executions(
    stack, admin_api, alice_api, tmp_path
):
    path = copy_pack("pinned_new", tmp_path, "hopeless")
    (path / "requirements.txt").write_text("attune-no-such-package-anywhere==9.9\n")
    register(admin_api, path)
    wait_for_environments(admin_api, "hopeless")

    execution = alice_api.run_and_wait("hopeless.versions")

    assert execution["status"] == "failed"
    assert "python environment of pack hopeless could not be built" in execution["error"]
    assert "No matching distribution" in execution["error"]


def test_executions_requested_during_the_build_wait_for_it(stack, admin_api, alice_api, tmp_path):
    path = copy_pack("pinned_old", tmp_path, "impatient")
    (path / "requirements.txt").write_text("six==1.14.0\n")
    register(admin_api, path)

    requested = [alice_api.run("impatient.versions") for _ in range(2)]
    results = [alice_api.wait_for(execution["id"], timeout=300) for execution in requested]

    assert [r["status"] for r in results] == ["succeeded", "succeeded"]
    assert {r["result"]["result"]["six"] for r in results} == {"1.14.0"}


def test_sensors_run_with_their_pack_virtualenv(stack, admin_api, alice_api):
    register(admin_api, FIXTURE_PACKS / "sensorvenv")
    wait_for_environments(admin_api, "sensorvenv")
    try:
        instance = wait_for_instance(alice_api, "sensorvenv.versions")
    finally:
        response = admin_api.session.patch(
            f"{admin_api.base_url}/api/v1/sensors/sensorvenv.VersionsSensor",
            json={"enabled": False},
            timeout=30,
        )
        assert response.status_code == 200, response.text

    assert instance["payload"] == {"six": "1.15.0", "has_django": False}


def wait_for_instance(api, trigger: str, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        found = api.get("/api/v1/triggerinstances", params={"trigger": trigger}).json()["results"]
        if found:
            return found[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"no trigger instance of {trigger}")
        time.sleep(0.2)
