"""What goes into a pack's environments, read from its files."""

from pathlib import Path

import pytest

from apps.runtimes.specs import (
    SpecInvalid,
    defaults_not_declared,
    needed_specs,
    nodejs_spec,
    python_spec,
)

DEFAULTS = ("requests==2.34.2",)


def write(root: Path, files: dict) -> Path:
    for name, text in files.items():
        (root / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    return root


def test_default_set_is_added_unless_the_pack_names_the_project_itself():
    assert defaults_not_declared("six==1.16.0\n", DEFAULTS) == DEFAULTS
    assert defaults_not_declared("Requests[socks]>=2.0 ; python_version>'3'\n", DEFAULTS) == ()
    assert defaults_not_declared("# requests\n-r other.txt\n", DEFAULTS) == DEFAULTS


def test_same_requirements_give_the_same_environment_and_a_change_gives_another(tmp_path):
    one = python_spec(write(tmp_path, {"requirements.txt": "six==1.16.0\n"}), DEFAULTS)
    same = python_spec(tmp_path, DEFAULTS)
    write(tmp_path, {"requirements.txt": "six==1.17.0\n"})
    changed = python_spec(tmp_path, DEFAULTS)

    assert one.sha256 == same.sha256
    assert changed.sha256 != one.sha256
    assert python_spec(tmp_path, ("requests==2.0",)).sha256 != changed.sha256


def test_a_pack_without_requirements_gets_the_default_set_only(tmp_path):
    spec = python_spec(tmp_path, DEFAULTS)

    assert spec.requirements == ""
    assert spec.defaults == DEFAULTS


def test_python_environment_only_for_python_actions_or_sensors(tmp_path):
    assert [s.kind for s in needed_specs(tmp_path, ["local-shell-cmd"], False, DEFAULTS)] == []
    assert [s.kind for s in needed_specs(tmp_path, ["python-script"], False, DEFAULTS)] == [
        "python"
    ]
    assert [s.kind for s in needed_specs(tmp_path, [], True, DEFAULTS)] == ["python"]


def test_node_environment_when_the_pack_has_a_package_json(tmp_path):
    assert needed_specs(tmp_path, ["nodejs"], False, DEFAULTS) == []
    write(tmp_path, {"package.json": '{"dependencies": {}}', "package-lock.json": "{}"})

    [spec] = needed_specs(tmp_path, ["nodejs"], False, DEFAULTS)

    assert spec.kind == "nodejs"
    assert set(spec.files) == {"package.json", "package-lock.json"}


@pytest.mark.parametrize("text", ["[1, 2]", "{not json", b"\xff\xfe"])
def test_package_json_must_be_a_json_object(tmp_path, text):
    write(tmp_path, {"package.json": text})

    with pytest.raises(SpecInvalid) as caught:
        nodejs_spec(tmp_path)

    assert caught.value.file == "package.json"


def test_requirements_must_be_utf8(tmp_path):
    write(tmp_path, {"requirements.txt": b"six\xff\n"})

    with pytest.raises(SpecInvalid, match="requirements.txt: is not UTF-8"):
        python_spec(tmp_path, DEFAULTS)
