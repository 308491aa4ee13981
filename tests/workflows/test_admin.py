"""Operators can read workflows and their tasks in the admin, secrets masked."""

from django.contrib.auth import get_user_model
from django.test import Client

from apps.executions.services import request_execution
from apps.workflows import services


def admin_client() -> Client:
    user = get_user_model().objects.create_superuser("root", "", "pw-not-secret")
    client = Client()
    client.force_login(user)
    return client


def test_workflow_and_task_pages_show_the_run(sequence_workflow):
    client = admin_client()
    task = sequence_workflow.workflow.tasks.get()

    page = client.get(f"/admin/workflows/workflowexecution/{sequence_workflow.pk}/change/")
    assert page.status_code == 200
    assert b"running" in page.content and b"core.echo" in page.content
    page = client.get(f"/admin/workflows/taskexecution/{task.pk}/change/")
    assert page.status_code == 200
    assert b"ada" in page.content
    assert client.get("/admin/workflows/workflowexecution/").status_code == 200


def test_admin_masks_secret_parameters(workflow_packs):
    execution = request_execution("workflows.secret_output", {"token": "hidden-value-123"})
    services.start_workflow(execution.pk)
    client = admin_client()
    task = execution.workflow.tasks.get()

    page = client.get(f"/admin/workflows/workflowexecution/{execution.pk}/change/")
    assert b"hidden-value-123" not in page.content
    page = client.get(f"/admin/workflows/taskexecution/{task.pk}/change/")
    assert page.status_code == 200
    assert b"hidden-value-123" not in page.content and b"********" in page.content
