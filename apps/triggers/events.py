"""Live notification events about trigger instances (see apps.notifications)."""

from apps.notifications.services import event, publish
from apps.triggers.api.serializers import trigger_instance_representation
from apps.triggers.models import TriggerInstance


def announce_instance(instance: TriggerInstance) -> None:
    """`trigger_instance.created`; payloads may hold anything, so only staff see them."""
    payload = trigger_instance_representation(instance)
    publish(
        event(
            "trigger_instance.created",
            "trigger_instance",
            instance.pk,
            payload,
            trigger_type=instance.trigger_ref,
        )
    )
