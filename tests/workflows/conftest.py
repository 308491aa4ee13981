"""Workflow fixtures backed by the test database (no live processes)."""

from pathlib import Path

import pytest

from apps.executions.services import request_execution
from apps.packs.services import register_pack
from apps.workflows import services

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def workflow_packs(db):
    register_pack(REPO_ROOT / "packs" / "core")
    register_pack(REPO_ROOT / "tests" / "fixtures" / "packs" / "workflows")


@pytest.fixture
def sequence_workflow(workflow_packs):
    execution = request_execution("workflows.sequence", {"name": "ada"})
    services.start_workflow(execution.pk)
    return execution
