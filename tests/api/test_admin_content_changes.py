"""Changes made in the Django admin reach the cached content of every process at once:
execution requests are authorized against cached actions and packs."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from apps.actions.models import Action
from apps.executions.models import Execution
from apps.packs.models import Pack
from apps.packs.services import register_pack
from tests.api.conftest import FIXTURE_PACKS
from tests.api.factories import api_client, make_execution, make_user, webhook_rule

pytestmark = pytest.mark.django_db

ACTION = "examples.args"


@pytest.fixture
def admin_client(db):
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", "", None))
    return client


def request_run(user) -> int:
    body = {"action": ACTION, "parameters": {"first": "a", "second": 2}}
    return api_client(user).post("/api/v1/executions", body, format="json").status_code


def submitted_form(page) -> dict:
    """The POST data of an admin change page as it is shown (main form and inlines)."""
    data = {}
    forms = [("", page.context["adminform"].form)]
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        data.update({f"{formset.prefix}-{k}": v for k, v in management.initial.items()})
        forms += [(f"{form.prefix}-", form) for form in formset.forms]
    for prefix, form in forms:
        for name, field in form.fields.items():
            value = form.initial.get(name, field.initial)
            if hasattr(value, "pk"):
                value = value.pk
            if value is True:
                data[f"{prefix}{name}"] = "on"
            elif value not in (None, False):
                data[f"{prefix}{name}"] = value
    return data


def test_a_pack_given_to_another_user_in_the_admin_runs_for_them_at_once(
    admin_client, django_capture_on_commit_callbacks
):
    alice, bob = make_user("alice"), make_user("bob")
    register_pack(FIXTURE_PACKS / "examples", owner=alice)
    assert request_run(alice) == 201
    assert request_run(bob) == 404  # alice's pack: bob cannot see it

    pack = Pack.objects.get(ref="examples")
    url = f"/admin/packs/pack/{pack.pk}/change/"
    form = submitted_form(admin_client.get(url))
    with django_capture_on_commit_callbacks(execute=True):
        saved = admin_client.post(url, {**form, "owner": bob.pk})
    assert saved.status_code == 302

    assert request_run(bob) == 201
    assert request_run(alice) == 404


def test_an_action_deleted_in_the_admin_is_gone_for_execution_requests_at_once(
    admin_client, django_capture_on_commit_callbacks
):
    user = make_user("carol")
    register_pack(FIXTURE_PACKS / "examples", owner=user)
    assert request_run(user) == 201

    action = Action.objects.get(ref=ACTION)
    with django_capture_on_commit_callbacks(execute=True):
        deleted = admin_client.post(
            "/admin/actions/action/",
            {"action": "delete_selected", "_selected_action": [action.pk], "post": "yes"},
        )
    assert deleted.status_code == 302
    assert not Action.objects.filter(ref=ACTION).exists()

    assert request_run(user) == 404


def test_a_user_who_owns_packs_or_rules_cannot_be_deleted_in_the_admin(admin_client, core_pack):
    """Their private packs and rules would otherwise become ownerless: the installation's,
    public and run with its rights."""
    owner = make_user("dora")
    register_pack(FIXTURE_PACKS / "examples", owner=owner)
    rule = webhook_rule("doras_rule", "doras-hook", owner, "core.noop")

    page = admin_client.post(f"/admin/auth/user/{owner.pk}/delete/", {"post": "yes"})

    assert page.status_code == 200  # the explanation, not a redirect after deleting
    listed = {re.sub(r"<[^>]+>", "", str(line)) for line in page.context["protected"]}
    assert listed == {"Pack: examples", "Rule: examples.on_examples_hook", f"Rule: {rule.ref}"}
    assert get_user_model().objects.filter(pk=owner.pk).exists()
    assert Pack.objects.get(ref="examples").owner == owner
    rule.refresh_from_db()
    assert rule.owner == owner


def test_deleting_a_user_cancels_what_they_requested_and_is_still_to_run(
    admin_client, core_pack, django_capture_on_commit_callbacks
):
    """Left alone it would run as no one, that is with the installation's rights."""
    user = make_user("erin")
    waiting = (
        api_client(user)
        .post("/api/v1/executions", {"action": "core.noop"}, format="json")
        .json()["id"]
    )
    done = make_execution("core.noop", status="succeeded")
    Execution.objects.filter(pk=done.pk).update(created_by=user)

    with django_capture_on_commit_callbacks(execute=True):
        deleted = admin_client.post(f"/admin/auth/user/{user.pk}/delete/", {"post": "yes"})

    assert deleted.status_code == 302
    assert not get_user_model().objects.filter(pk=user.pk).exists()
    statuses = dict(Execution.objects.filter(pk__in=[waiting, done.pk]).values_list("pk", "status"))
    assert statuses == {waiting: "canceled", done.pk: "succeeded"}
