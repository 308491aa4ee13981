"""Inquiry fixtures backed by the test database (no live processes): the Celery messages a
step would send are replaced by calling the services they name."""

import pytest
from django.contrib.auth import get_user_model

from apps.executions.services import request_execution
from apps.inquiries import services as inquiries
from apps.inquiries.models import Inquiry
from apps.workflows import services as workflows


@pytest.fixture
def people(db):
    users = get_user_model()
    return {
        name: users.objects.create_user(name, password="pw") for name in ("alice", "bob", "eve")
    }


def ask_of(workflow):
    return workflow.children.get(action_ref="core.ask")


def started(people, **parameters):
    """An approval workflow whose ask task has created its inquiry and paused the workflow."""
    workflow = request_execution(
        "workflows.approval", {"approver": "bob", **parameters}, user=people["alice"]
    )
    workflows.start_workflow(workflow.pk)
    ask = ask_of(workflow)
    inquiries.start_inquiry(ask.pk)
    workflows.advance_workflow(workflow.pk, {"type": "child", "execution_id": ask.pk})
    workflow.refresh_from_db()
    return workflow, Inquiry.objects.get(pk=ask.pk)


def asked(people, schema: dict, **parameters) -> Inquiry:
    """A pending inquiry from a `core.ask` run on its own (no workflow), asking with `schema`."""
    ask = request_execution("core.ask", {"schema": schema, **parameters}, user=people["alice"])
    inquiries.start_inquiry(ask.pk)
    return Inquiry.objects.get(pk=ask.pk)
