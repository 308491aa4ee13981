"""Packs and actions over the API: registering, uploading and reading them."""

import io
import shutil
import tarfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.actions.models import Action
from apps.packs.models import Pack
from tests.api.conftest import FIXTURE_PACKS

pytestmark = pytest.mark.django_db

EXAMPLES = FIXTURE_PACKS / "examples"
EXAMPLE_ACTIONS = [
    "examples.args",
    "examples.crash",
    "examples.greet",
    "examples.record",
    "examples.refuse",
]


def register(client, path: Path):
    return client.post("/api/v1/packs/register", {"path": str(path)}, format="json")


def upload(client, data: bytes, filename: str = "pack.tar.gz"):
    file = SimpleUploadedFile(filename, data, content_type="application/gzip")
    return client.post("/api/v1/packs/upload", {"file": file}, format="multipart")


def tar_gz_of(directory: Path, *, folder: str = "") -> bytes:
    """Pack `directory` as a .tar.gz, at the top level or inside `folder`."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                tar.add(path, arcname=str(Path(folder) / path.relative_to(directory)))
    return buffer.getvalue()


def tar_gz_with(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


# --- register -------------------------------------------------------------------------------


def test_staff_registers_a_pack_directory(staff_api, staff):
    response = register(staff_api, EXAMPLES)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["ref"] == "examples"
    assert body["version"] == "0.1.0"
    assert body["owner"] == "staff"
    assert sorted(body["actions"]) == EXAMPLE_ACTIONS
    assert len(body["content_sha256"]) == 64


def test_registered_actions_can_be_read_back(staff_api):
    register(staff_api, EXAMPLES)

    response = staff_api.get("/api/v1/actions/examples.greet")

    assert response.status_code == 200
    body = response.json()
    assert body["pack"] == "examples"
    assert body["runner_type"] == "python-script"
    assert body["parameters"]["name"] == {"type": "string", "required": True}


def test_non_staff_cannot_register_a_pack(alice_api):
    response = register(alice_api, EXAMPLES)

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not Pack.objects.filter(ref="examples").exists()


def test_an_invalid_pack_is_refused_naming_each_file_and_field(staff_api):
    response = register(staff_api, FIXTURE_PACKS / "invalid_pack")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_pack"
    errors = {(e["file"], e["field"]) for e in body["errors"]}
    assert ("pack.yaml", "version") in errors
    assert ("actions/unknown_runner.yaml", "runner_type") in errors
    assert ("actions/missing_entry.yaml", "entry_point") in errors
    assert ("actions/bad_parameter.yaml", "parameters.count") in errors
    assert ("actions/broken.yaml", "") in errors
    assert ("actions/twin_two.yaml", "name") in errors
    assert "pack.yaml [version]" in body["detail"]


def test_an_invalid_pack_writes_nothing(staff_api):
    register(staff_api, FIXTURE_PACKS / "invalid_pack")

    assert not Pack.objects.filter(ref="invalid_pack").exists()
    assert not Action.objects.filter(ref__startswith="invalid_pack.").exists()


def test_a_path_that_is_not_a_directory_is_refused(staff_api, tmp_path):
    response = register(staff_api, tmp_path / "nowhere")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_pack"


def test_register_without_a_path_is_refused(staff_api):
    response = staff_api.post("/api/v1/packs/register", {}, format="json")

    assert response.status_code == 400
    assert "path" in response.json()["errors"]


def test_re_registering_removes_deleted_actions_and_updates_changed_ones(staff_api, tmp_path):
    pack = Path(shutil.copytree(EXAMPLES, tmp_path / "examples"))
    first = register(staff_api, pack).json()

    (pack / "actions" / "crash.yaml").unlink()
    greet = pack / "actions" / "greet.yaml"
    greet.write_text(greet.read_text().replace("Greet someone", "Welcome someone"))
    response = register(staff_api, pack)

    assert response.status_code == 201
    assert "examples.crash" not in response.json()["actions"]
    assert response.json()["content_sha256"] != first["content_sha256"]
    assert staff_api.get("/api/v1/actions/examples.crash").status_code == 404
    description = staff_api.get("/api/v1/actions/examples.greet").json()["description"]
    assert description.startswith("Welcome someone")
    assert Pack.objects.filter(ref="examples").count() == 1


def test_re_registering_a_pack_that_became_invalid_keeps_the_old_one(staff_api, tmp_path):
    pack = Path(shutil.copytree(EXAMPLES, tmp_path / "examples"))
    register(staff_api, pack)

    (pack / "actions" / "greet.py").unlink()
    (pack / "actions" / "crash.yaml").unlink()
    response = register(staff_api, pack)

    assert response.status_code == 400
    assert staff_api.get("/api/v1/actions/examples.crash").status_code == 200


def test_an_overlong_pack_version_is_refused_naming_the_field(staff_api, tmp_path):
    (tmp_path / "pack.yaml").write_text(f"name: long\nversion: '1.{'0' * 60}'\n")

    response = register(staff_api, tmp_path)

    assert response.status_code == 400
    assert ("pack.yaml", "version") in {(e["file"], e["field"]) for e in response.json()["errors"]}


# --- upload ---------------------------------------------------------------------------------


def test_staff_uploads_a_pack_archive(staff_api):
    response = upload(staff_api, tar_gz_of(EXAMPLES), "examples.tar.gz")

    assert response.status_code == 201, response.content
    assert sorted(response.json()["actions"]) == EXAMPLE_ACTIONS
    assert response.json()["source"] == "upload:examples.tar.gz"


def test_an_archive_with_the_pack_in_one_folder_is_accepted(staff_api):
    response = upload(staff_api, tar_gz_of(EXAMPLES, folder="examples-0.1.0"))

    assert response.status_code == 201, response.content
    assert response.json()["ref"] == "examples"


def test_an_uploaded_pack_has_the_same_content_as_the_registered_directory(staff_api):
    registered = register(staff_api, EXAMPLES).json()

    uploaded = upload(staff_api, tar_gz_of(EXAMPLES)).json()

    assert uploaded["content_sha256"] == registered["content_sha256"]


def test_non_staff_cannot_upload_a_pack(alice_api):
    response = upload(alice_api, tar_gz_of(EXAMPLES))

    assert response.status_code == 403
    assert not Pack.objects.exists()


def test_an_upload_that_is_not_gzip_is_refused(staff_api):
    response = upload(staff_api, b"name: examples\nversion: 1\n", "pack.yaml")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_pack"


def test_an_archive_escaping_its_folder_is_refused(staff_api, tmp_path):
    archive = tar_gz_with({"pack.yaml": b"name: evil\nversion: 1\n", "../evil": b"pwned"})

    response = upload(staff_api, archive)

    assert response.status_code == 400
    assert not Pack.objects.filter(ref="evil").exists()


def test_an_archive_without_pack_yaml_is_refused(staff_api):
    response = upload(staff_api, tar_gz_with({"README.md": b"hello"}))

    assert response.status_code == 400
    assert "pack.yaml" in response.json()["detail"]


def test_an_archive_holding_an_invalid_pack_is_refused_with_its_errors(staff_api):
    response = upload(staff_api, tar_gz_of(FIXTURE_PACKS / "invalid_pack"))

    assert response.status_code == 400
    assert ("pack.yaml", "version") in {(e["file"], e["field"]) for e in response.json()["errors"]}
    assert not Pack.objects.filter(ref="invalid_pack").exists()


def test_an_upload_without_a_file_is_refused(staff_api):
    response = staff_api.post("/api/v1/packs/upload", {}, format="multipart")

    assert response.status_code == 400
    assert "file" in response.json()["detail"]


# --- reading ---------------------------------------------------------------------------------


def test_a_pack_is_found_by_its_ref(alice_api, examples_pack):
    response = alice_api.get("/api/v1/packs/examples")

    assert response.status_code == 200
    assert sorted(response.json()["actions"]) == EXAMPLE_ACTIONS


def test_packs_are_listed(alice_api, examples_pack, core_pack):
    response = alice_api.get("/api/v1/packs")

    assert response.status_code == 200
    assert [p["ref"] for p in response.json()["results"]] == ["core", "examples"]


def test_packs_can_be_filtered_to_system_packs(alice_api, examples_pack, core_pack):
    response = alice_api.get("/api/v1/packs", {"is_system": "true"})

    assert [p["ref"] for p in response.json()["results"]] == ["core"]


def test_an_action_is_found_by_its_dotted_ref(alice_api, core_pack):
    response = alice_api.get("/api/v1/actions/core.echo")

    assert response.status_code == 200
    assert response.json()["ref"] == "core.echo"
    assert response.json()["enabled"] is True


def test_actions_can_be_filtered_by_pack(alice_api, examples_pack, core_pack):
    response = alice_api.get("/api/v1/actions", {"pack__ref": "core"})

    core_files = sorted((Path(__file__).resolve().parents[2] / "packs/core/actions").glob("*.yaml"))
    assert [a["ref"] for a in response.json()["results"]] == [f"core.{f.stem}" for f in core_files]


@pytest.mark.parametrize(
    "url", ["/api/v1/packs/nope", "/api/v1/actions/nope", "/api/v1/actions/core.nope"]
)
def test_unknown_refs_are_404_with_a_json_body(alice_api, core_pack, url):
    response = alice_api.get(url)

    assert response.status_code == 404
    assert response.json() == {"detail": response.json()["detail"], "code": "not_found"}
