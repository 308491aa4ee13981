"""With Redis unreachable, a request that needs it answers 503 with Retry-After, naming Redis,
not a 500, and records nothing. A start message the broker refuses after the commit leaves the
committed work standing for the re-dispatch sweep."""

import socket

import pytest
import redis
from kombu import Connection, pools

from apps.core import services
from apps.executions.models import Execution
from apps.triggers.models import TriggerInstance
from tests.api.factories import api_client, webhook_rule

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def redis_down(monkeypatch):
    """The process's Redis client, pointed at a closed port."""
    unreachable = redis.Redis(host="127.0.0.1", port=closed_port())
    monkeypatch.setattr(services, "_redis_client", unreachable)


@pytest.fixture
def broker_down(monkeypatch):
    """Celery's producers, connected to a broker on a closed port (Redis itself stays up)."""
    from attune.celery import app

    dead = Connection(f"redis://127.0.0.1:{closed_port()}/0", transport="attune.broker:Transport")
    monkeypatch.setattr(app.amqp, "_producer_pool", pools.producers[dead])


def test_a_webhook_while_redis_is_down_is_503_and_records_nothing(core_pack, sender, redis_down):
    webhook_rule("on_down", "redis-down", sender, "core.noop")
    client = api_client(sender)

    response = client.post("/api/v1/webhooks/redis-down", {"n": 1}, format="json")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "detail": "Redis is unavailable; try again shortly.",
        "code": "unavailable",
    }
    assert not TriggerInstance.objects.exists()
    assert not Execution.objects.exists()


def test_a_start_message_the_broker_refuses_leaves_the_execution_for_the_sweep(
    core_pack, sender, broker_down, django_capture_on_commit_callbacks
):
    webhook_rule("on_broker_down", "broker-down", sender, "core.noop")

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(sender).post("/api/v1/webhooks/broker-down", {}, format="json")

    assert response.status_code == 202
    instance = TriggerInstance.objects.get(pk=response.json()["trigger_instance_id"])
    execution = Execution.objects.get(context__trigger_instance=instance.pk)
    assert execution.status == "requested"  # the sweep sends it again
