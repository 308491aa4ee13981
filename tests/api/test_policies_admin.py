"""Policies in the Django admin: listed, checked like the API, and their slots visible."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from apps.executions.services import request_execution
from apps.packs.services import register_pack
from apps.policies.models import ConcurrencySlot, Policy
from tests.api.conftest import FIXTURE_PACKS

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(db):
    register_pack(FIXTURE_PACKS / "policytest")
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", "", None))
    return client


def change_form(policy: Policy, **changes) -> dict:
    form = {
        "ref": policy.ref,
        "pack": policy.pack_id,
        "name": policy.name,
        "description": policy.description,
        "resource_ref": policy.resource_ref,
        "policy_type": policy.policy_type,
        "parameters": '{"threshold": 3}',
        "is_enabled": "on",
        "metadata_file": policy.metadata_file,
    }
    return {**form, **changes}


def test_policies_are_listed_in_the_admin(admin_client):
    response = admin_client.get("/admin/policies/policy/")

    assert response.status_code == 200
    assert b"policytest.per_host.concurrency" in response.content


def test_admin_edit_is_checked_and_saved_with_defaults(admin_client):
    policy = Policy.objects.get(ref="policytest.pair.concurrency")
    url = f"/admin/policies/policy/{policy.pk}/change/"

    refused = admin_client.post(url, change_form(policy, parameters='{"threshold": 0}'))
    assert refused.status_code == 200  # the form again, with the error
    assert b"parameters.threshold" in refused.content
    policy.refresh_from_db()
    assert policy.parameters["threshold"] == 2

    saved = admin_client.post(url, change_form(policy))
    assert saved.status_code == 302
    policy.refresh_from_db()
    assert policy.parameters == {"action": "delay", "threshold": 3}


def test_slots_show_who_holds_and_who_waits(admin_client):
    request_execution("policytest.one_at_a_time", {})
    request_execution("policytest.one_at_a_time", {})
    slot = ConcurrencySlot.objects.get(policy__ref="policytest.one_at_a_time.concurrency")

    listing = admin_client.get("/admin/policies/concurrencyslot/")
    detail = admin_client.get(f"/admin/policies/concurrencyslot/{slot.pk}/change/")

    assert b'<td class="field-holding">1</td>' in listing.content
    assert b'<td class="field-waiting">1</td>' in listing.content
    assert detail.status_code == 200
