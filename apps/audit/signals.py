"""Logins and failed logins through Django's auth (the admin, and API logins' failures)."""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from apps.audit.choices import AuditAction
from apps.audit.services import record_event


@receiver(user_logged_in)
def record_session_login(sender, request, user, **kwargs):
    record_event(AuditAction.LOGIN, "user", user.pk, actor=user, detail={"via": "session"})


@receiver(user_login_failed)
def record_failed_login(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username", ""))[:150]
    record_event(AuditAction.LOGIN_FAILED, "user", username, actor=f"unknown ({username})")
