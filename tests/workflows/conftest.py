"""Workflow fixtures backed by the test database (no live processes)."""

import pytest

from apps.executions.services import request_execution
from apps.workflows import services


@pytest.fixture
def sequence_workflow(workflow_packs):
    execution = request_execution("workflows.sequence", {"name": "ada"})
    services.start_workflow(execution.pk)
    return execution
