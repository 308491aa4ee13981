"""Secret trigger payload fields in the Django admin and the API, without the live stack."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from apps.packs.services import register_pack
from apps.triggers.choices import TriggerSource
from apps.triggers.services import dispatch_trigger
from tests.api.conftest import FIXTURE_PACKS

pytestmark = pytest.mark.django_db

PASSWORD = "hunter2-login-password"


@pytest.fixture
def login_instance(db):
    register_pack(FIXTURE_PACKS / "secretpayload")
    payload = {"user": "ada", "password": PASSWORD, "session": {"ip": "10.0.0.7", "token": "t0k"}}
    return dispatch_trigger("secretpayload.login", payload, source=TriggerSource.WEBHOOK)


def test_the_admin_shows_secret_payload_fields_masked(login_instance):
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", "", None))

    page = client.get(f"/admin/triggers/triggerinstance/{login_instance.pk}/change/")

    assert page.status_code == 200
    assert "10.0.0.7" in page.content.decode()
    assert PASSWORD not in page.content.decode()


def test_the_api_masks_secret_payload_fields_for_everyone_who_does_not_ask(
    login_instance, staff_api
):
    shown = staff_api.get(f"/api/v1/triggerinstances/{login_instance.pk}").json()

    assert shown["payload"]["password"] == "********"
    assert shown["payload"]["session"] == {"ip": "10.0.0.7", "token": "********"}
