"""Pack environments and images in the pack API (building them is tested end to end)."""

import pytest
from django.contrib.auth import get_user_model

from apps.packs.models import Pack
from apps.packs.services import register_pack
from apps.runtimes.models import PackEnvironment
from tests.support.packs import FIXTURE_PACKS, copy_pack

pytestmark = pytest.mark.django_db


def register(client, path):
    return client.post("/api/v1/packs/register", {"path": str(path)}, format="json")


def test_registration_answers_at_once_with_the_virtualenv_building(staff_api):
    assert register(staff_api, FIXTURE_PACKS / "pinned_old").status_code == 201

    body = staff_api.get("/api/v1/packs/pinned_old").json()

    [environment] = body["environments"]
    assert environment["kind"] == "python"
    assert environment["status"] == "building"
    assert environment["is_current"] is True
    assert environment["files"] == {"requirements.txt": "six==1.15.0\n"}
    assert environment["defaults"] == ["requests==2.34.2"]
    assert body["images"] == []


def test_changed_requirements_ask_for_a_new_environment_and_keep_the_built_one(staff_api, tmp_path):
    path = copy_pack("pinned_old", tmp_path, "changing")
    register(staff_api, path)
    PackEnvironment.objects.filter(pack__ref="changing").update(status="ready")
    (path / "requirements.txt").write_text("six==1.17.0\n")

    body = register(staff_api, path).json()

    by_current = {e["is_current"]: e for e in body["environments"]}
    assert by_current[True]["status"] == "building"
    assert by_current[True]["files"] == {"requirements.txt": "six==1.17.0\n"}
    assert by_current[False]["status"] == "ready"  # runs fall back to it if the new one fails


def test_a_pack_without_python_code_or_package_json_needs_no_environment(staff_api):
    body = register(staff_api, FIXTURE_PACKS / "containerpack").json()

    assert body["environments"] == []
    assert {i["action"] for i in body["images"]} >= {"containerpack.echo_params"}


def test_node_pack_gets_a_nodejs_environment(staff_api):
    body = register(staff_api, FIXTURE_PACKS / "nodepack").json()

    assert [(e["kind"], e["status"]) for e in body["environments"]] == [("nodejs", "building")]


def test_an_invalid_package_json_is_refused_naming_it_and_writes_nothing(staff_api, tmp_path):
    path = copy_pack("nodepack", tmp_path, "brokennode")
    (path / "package.json").write_text("{not json")

    response = register(staff_api, path)

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"file": "package.json", "field": "", "message": "must be a JSON object"}
    ]
    assert not Pack.objects.filter(ref="brokennode").exists()


def test_admin_shows_a_packs_environments_and_images(client, tmp_path):
    register_pack(FIXTURE_PACKS / "containerpack")
    pack = register_pack(copy_pack("pinned_old", tmp_path, "shown"))
    PackEnvironment.objects.filter(pack=pack).update(status="failed", log="No matching thing")
    client.force_login(get_user_model().objects.create_superuser("root", "", "pw"))

    shown = client.get(f"/admin/packs/pack/{pack.pk}/change/").content.decode()
    images = client.get(
        f"/admin/packs/pack/{Pack.objects.get(ref='containerpack').pk}/change/"
    ).content.decode()
    listed = client.get("/admin/runtimes/packenvironment/?status=failed").content.decode()

    assert "No matching thing" in shown and "failed" in shown
    assert "localhost/attune-test-busybox:1 (containerpack.echo_params)" in images
    assert "shown" in listed
