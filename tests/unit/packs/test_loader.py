"""Reading pack directories: valid packs load, and every problem names its file and field."""

from pathlib import Path

import pytest

from apps.packs.loader import PackInvalid, load_pack

REPO_ROOT = Path(__file__).resolve().parents[3]
FIXTURE_PACKS = REPO_ROOT / "tests" / "fixtures" / "packs"


def write_pack(root: Path, files: dict[str, str]) -> Path:
    """Write a pack made of `files` (relative path -> text) under `root`."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def load_errors(root: Path) -> list[dict]:
    with pytest.raises(PackInvalid) as caught:
        load_pack(root)
    return caught.value.errors


def errors_about(errors: list[dict], file: str, field: str = "") -> list[str]:
    return [e["message"] for e in errors if e["file"] == file and e["field"] == field]


PACK_YAML = "ref: demo\nname: demo\nversion: 1.0.0\n"


# --- valid packs --------------------------------------------------------------------------


def yaml_stems(directory: Path) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.yaml"))


def test_the_examples_pack_loads_with_its_actions():
    pack = load_pack(FIXTURE_PACKS / "examples")

    assert (pack.ref, pack.version, pack.is_system) == ("examples", "0.1.0", False)
    assert [a.name for a in pack.actions] == yaml_stems(FIXTURE_PACKS / "examples" / "actions")
    greet = next(a for a in pack.actions if a.name == "greet")
    assert greet.runner_type == "python-script"
    assert greet.entry_point == "greet.py"
    assert greet.metadata_file == "actions/greet.yaml"
    assert greet.parameters["name"] == {"type": "string", "required": True}


def test_the_core_pack_loads_as_a_system_pack():
    pack = load_pack(REPO_ROOT / "packs" / "core")

    assert pack.ref == "core"
    assert pack.is_system is True
    assert sorted(a.name for a in pack.actions) == yaml_stems(
        REPO_ROOT / "packs" / "core" / "actions"
    )
    assert {"echo", "local", "noop", "pause"} <= {a.name for a in pack.actions}
    echo = next(a for a in pack.actions if a.name == "echo")
    assert echo.parameters["cmd"]["immutable"] is True


def test_pack_ref_defaults_to_its_name(tmp_path):
    pack = load_pack(write_pack(tmp_path, {"pack.yaml": "name: demo\nversion: 1\n"}))

    assert pack.ref == "demo"
    assert pack.version == "1"
    assert pack.actions == []


def test_actions_may_be_disabled_and_use_the_yml_extension(tmp_path):
    write_pack(
        tmp_path,
        {
            "pack.yaml": PACK_YAML,
            "actions/quiet.yml": "name: quiet\nrunner_type: noop\nenabled: false\n",
        },
    )

    [action] = load_pack(tmp_path).actions

    assert (action.name, action.is_enabled) == ("quiet", False)


# --- the invalid fixture pack: every problem at once --------------------------------------


@pytest.fixture(scope="module")
def invalid_pack_errors() -> list[dict]:
    return load_errors(FIXTURE_PACKS / "invalid_pack")


def test_missing_version_names_pack_yaml(invalid_pack_errors):
    assert errors_about(invalid_pack_errors, "pack.yaml", "version") == ["is required"]


def test_unknown_runner_type_names_the_action_file(invalid_pack_errors):
    [message] = errors_about(invalid_pack_errors, "actions/unknown_runner.yaml", "runner_type")

    assert "remote-telepathy" in message
    assert "local-shell-cmd" in message  # the known runners are listed


def test_missing_entry_point_file_names_the_action_file(invalid_pack_errors):
    [message] = errors_about(invalid_pack_errors, "actions/missing_entry.yaml", "entry_point")

    assert "not_there.py" in message


def test_entry_point_escaping_the_pack_is_refused(invalid_pack_errors):
    [message] = errors_about(invalid_pack_errors, "actions/escaping_entry.yaml", "entry_point")

    assert "outside the pack" in message


def test_parameter_with_unknown_type_names_the_parameter(invalid_pack_errors):
    messages = errors_about(invalid_pack_errors, "actions/bad_parameter.yaml", "parameters.count")

    assert any("unknown type 'int'" in m for m in messages)


def test_bad_yaml_names_the_action_file(invalid_pack_errors):
    [message] = errors_about(invalid_pack_errors, "actions/broken.yaml")

    assert message.startswith("not valid YAML")


def test_duplicate_action_names_name_both_files(invalid_pack_errors):
    [message] = errors_about(invalid_pack_errors, "actions/twin_two.yaml", "name")

    assert "twin" in message
    assert "actions/twin_one.yaml" in message


def test_every_problem_is_reported_and_nothing_else(invalid_pack_errors):
    files = {e["file"] for e in invalid_pack_errors}

    assert files == {
        "pack.yaml",
        "actions/unknown_runner.yaml",
        "actions/missing_entry.yaml",
        "actions/escaping_entry.yaml",
        "actions/bad_parameter.yaml",
        "actions/broken.yaml",
        "actions/twin_two.yaml",
    }


def test_the_error_message_lists_file_and_field():
    with pytest.raises(PackInvalid) as caught:
        load_pack(FIXTURE_PACKS / "invalid_pack")

    assert "pack.yaml [version]: is required" in str(caught.value)
    assert "actions/unknown_runner.yaml [runner_type]" in str(caught.value)


# --- other problems ------------------------------------------------------------------------


def test_a_directory_without_pack_yaml_is_refused(tmp_path):
    assert load_errors(tmp_path) == [
        {"file": "pack.yaml", "field": "", "message": "file is missing"}
    ]


def test_pack_yaml_that_is_not_a_mapping_is_refused(tmp_path):
    write_pack(tmp_path, {"pack.yaml": "- just\n- a list\n"})

    assert errors_about(load_errors(tmp_path), "pack.yaml") == ["must be a mapping"]


@pytest.mark.parametrize("ref", ["Has-Caps", "with space", "dots.in.ref"])
def test_a_pack_ref_that_is_not_a_slug_is_refused(tmp_path, ref):
    write_pack(tmp_path, {"pack.yaml": f"ref: {ref}\nname: demo\nversion: 1\n"})

    assert errors_about(load_errors(tmp_path), "pack.yaml", "ref")


def test_a_nameless_pack_is_refused(tmp_path):
    write_pack(tmp_path, {"pack.yaml": "version: 1\n"})

    errors = load_errors(tmp_path)

    assert errors_about(errors, "pack.yaml", "name") == ["is required"]


def test_an_action_without_name_is_refused(tmp_path):
    write_pack(tmp_path, {"pack.yaml": PACK_YAML, "actions/anon.yaml": "runner_type: noop\n"})

    assert errors_about(load_errors(tmp_path), "actions/anon.yaml", "name")


def test_a_runner_needing_an_entry_point_refuses_an_action_without_one(tmp_path):
    write_pack(
        tmp_path,
        {"pack.yaml": PACK_YAML, "actions/s.yaml": "name: s\nrunner_type: python-script\n"},
    )

    assert errors_about(load_errors(tmp_path), "actions/s.yaml", "entry_point") == [
        "is required for this runner"
    ]


def test_an_absolute_entry_point_is_refused(tmp_path):
    write_pack(
        tmp_path,
        {
            "pack.yaml": PACK_YAML,
            "actions/s.yaml": "name: s\nrunner_type: local-shell-script\n"
            "entry_point: /etc/passwd\n",
        },
    )

    [message] = errors_about(load_errors(tmp_path), "actions/s.yaml", "entry_point")
    assert "outside the pack" in message


def test_an_entry_point_symlinked_outside_the_pack_is_refused(tmp_path):
    outside = tmp_path / "outside.sh"
    outside.write_text("echo hi\n")
    pack = write_pack(
        tmp_path / "pack",
        {
            "pack.yaml": PACK_YAML,
            "actions/s.yaml": "name: s\nrunner_type: local-shell-script\nentry_point: s.sh\n",
        },
    )
    (pack / "actions" / "s.sh").symlink_to(outside)

    [message] = errors_about(load_errors(pack), "actions/s.yaml", "entry_point")
    assert "outside the pack" in message


def test_an_entry_point_that_is_not_a_string_is_refused(tmp_path):
    write_pack(
        tmp_path,
        {
            "pack.yaml": PACK_YAML,
            "actions/s.yaml": "name: s\nrunner_type: python-script\nentry_point: 5\n",
        },
    )

    assert errors_about(load_errors(tmp_path), "actions/s.yaml", "entry_point")


def test_parameters_that_are_not_a_mapping_are_refused(tmp_path):
    write_pack(
        tmp_path,
        {"pack.yaml": PACK_YAML, "actions/a.yaml": "name: a\nrunner_type: noop\nparameters: [x]\n"},
    )

    assert errors_about(load_errors(tmp_path), "actions/a.yaml", "parameters")


def test_a_parameter_spec_that_is_not_a_mapping_names_the_parameter(tmp_path):
    write_pack(
        tmp_path,
        {
            "pack.yaml": PACK_YAML,
            "actions/a.yaml": "name: a\nrunner_type: noop\nparameters:\n  who: string\n",
        },
    )

    assert errors_about(load_errors(tmp_path), "actions/a.yaml", "parameters.who") == [
        "parameter 'who' must be a mapping"
    ]


def test_enabled_must_be_a_boolean(tmp_path):
    write_pack(
        tmp_path,
        {"pack.yaml": PACK_YAML, "actions/a.yaml": "name: a\nrunner_type: noop\nenabled: maybe\n"},
    )

    assert errors_about(load_errors(tmp_path), "actions/a.yaml", "enabled")


def test_an_action_file_that_is_not_utf8_is_refused(tmp_path):
    write_pack(tmp_path, {"pack.yaml": PACK_YAML})
    (tmp_path / "actions" / "latin.yaml").parent.mkdir()
    (tmp_path / "actions" / "latin.yaml").write_bytes(b"name: caf\xe9\nrunner_type: noop\n")

    [message] = errors_about(load_errors(tmp_path), "actions/latin.yaml")
    assert message.startswith("not valid YAML")
