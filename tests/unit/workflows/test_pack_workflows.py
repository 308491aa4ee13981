"""Packs with Orquesta workflows: valid definitions load, invalid ones refuse the pack."""

from pathlib import Path

import pytest

from apps.packs.loader import PackInvalid, load_pack

FIXTURE_PACKS = Path(__file__).resolve().parents[2] / "fixtures" / "packs"


def test_every_fixture_workflow_loads():
    pack = load_pack(FIXTURE_PACKS / "workflows")
    workflows = sorted(a.name for a in pack.actions if a.runner_type == "orquesta")
    definitions = sorted(
        p.stem for p in (FIXTURE_PACKS / "workflows/actions/workflows").glob("*.yaml")
    )
    assert "sequence" in workflows and "complex" in workflows
    assert workflows == definitions  # every definition loads as its action


def test_invalid_workflow_refuses_the_pack_naming_task_field_and_line():
    with pytest.raises(PackInvalid) as caught:
        load_pack(FIXTURE_PACKS / "bad_workflow")
    errors = {(e["file"], e["field"]): e["message"] for e in caught.value.errors}
    where = "actions/workflows/broken.yaml"
    assert errors[(where, "tasks.first.action.message")].startswith("invalid YAQL <% ctx(msg %>")
    assert errors[(where, "tasks.first.action.message")].endswith("(line 4)")
    assert errors[(where, "tasks.second.join")] == (
        "must be 'all' or a positive number of inbound branches (line 10)"
    )
    assert errors[(where, "tasks.second.next.0.do")] == (
        "task 'nowhere' does not exist in this workflow (line 12)"
    )
    assert len(errors) == 3


def test_missing_workflow_file_is_reported_once(tmp_path):
    (tmp_path / "actions").mkdir()
    (tmp_path / "pack.yaml").write_text("ref: demo\nname: demo\nversion: 1.0.0\n")
    (tmp_path / "actions" / "wf.yaml").write_text(
        "name: wf\nrunner_type: orquesta\nentry_point: workflows/wf.yaml\n"
    )
    with pytest.raises(PackInvalid) as caught:
        load_pack(tmp_path)
    assert [(e["field"], e["message"]) for e in caught.value.errors] == [
        ("entry_point", "file actions/workflows/wf.yaml does not exist")
    ]
