"""Record audit events; the request being served (if any) supplies the actor and the IP.

`AuditMiddleware` keeps the current request in a context variable, so services record who and
from where without every signature carrying them; DRF sets the authenticated user on the
underlying Django request, so the actor is right for every authentication method.
"""

import contextvars
import logging
from contextlib import contextmanager

from apps.audit.models import AuditEvent

logger = logging.getLogger(__name__)

current_request = contextvars.ContextVar("attune_audit_request", default=None)

# Fields that never go into an event's detail, whoever passes them.
SECRET_DETAIL_KEYS = {"value", "password", "token", "secret_value", "key"}


@contextmanager
def outside_request():
    """Record what happens in the block as a process's work, not the current request's: the
    rules a webhook request enforces run on their owners' behalf, not from the sender's IP."""
    token = current_request.set(None)
    try:
        yield
    finally:
        current_request.reset(token)


def record_event(action: str, object_type: str, object_id="", *, actor=None, detail=None):
    """Write one audit event (inside the caller's transaction).

    `actor` defaults to the user of the current request; pass a user, or a label for a
    process (`"execution 12"`), when the work happens outside a request.
    """
    request = current_request.get()
    if actor is None and request is not None:
        actor = getattr(request, "user", None)
    user, name = identify(actor, request)
    return AuditEvent.objects.create(
        actor=user,
        actor_name=name,
        action=action,
        object_type=object_type,
        object_id=str(object_id)[:500],
        ip_address=client_ip(request),
        detail={k: v for k, v in (detail or {}).items() if k not in SECRET_DETAIL_KEYS},
    )


def identify(actor, request) -> tuple:
    """(user or None, name) for a user, a process label, or nobody."""
    caller = getattr(request, "auth", None) if request is not None else None
    label = getattr(caller, "label", "")
    if isinstance(actor, str):
        return None, actor
    if actor is not None and getattr(actor, "is_authenticated", False):
        name = actor.get_username()
        return actor, f"{name} ({label})" if label else name
    return None, label or "system"


def client_ip(request) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None
