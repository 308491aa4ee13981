"""A user being deleted has what they requested and is still to run canceled first."""

from django.contrib.auth import get_user_model
from django.db.models.signals import pre_delete

from apps.executions.services import cancel_executions_requested_by


def user_deleted(sender, instance, **kwargs) -> None:
    cancel_executions_requested_by(instance)


def connect() -> None:
    pre_delete.connect(user_deleted, sender=get_user_model(), dispatch_uid="executions-user-del")
