"""Inquiries: `core.ask` puts a question to people; an answer (or its expiry) ends the asking
execution, and its workflow carries on from there.

A `core.ask` execution is started on the control queue (`start_inquiry`), never by an actions
worker: nothing runs while people think. It stays `pending` until `respond`, `expire_inquiry`
or a cancel ends it; the workflow it belongs to hears of each step like of any child's.
"""

import logging
from datetime import timedelta

from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from jsonschema import Draft202012Validator, SchemaError
from jsonschema.validators import validator_for

from apps.audit.choices import AuditAction
from apps.audit.services import record_event
from apps.core.exceptions import Conflict, InvalidInput, NotFound, PermissionDenied
from apps.core.services import enqueue_on_commit
from apps.executions.choices import WAITING_TO_RUN, ExecutionStatus
from apps.executions.models import Execution
from apps.executions.services import (
    ADVANCE_WORKFLOW_TASK,
    finish_execution,
    transition,
)
from apps.inquiries.choices import DEFAULT_SCHEMA, InquiryStatus
from apps.inquiries.events import announce_inquiry
from apps.inquiries.models import Inquiry
from apps.rbac.authorization import grants_of
from apps.rbac.models import RoleAssignment
from apps.triggers.choices import TriggerSource
from apps.triggers.services import dispatch_trigger

logger = logging.getLogger(__name__)
S = ExecutionStatus
INQUIRY_TRIGGER = "core.st2.generic.inquiry"
ENDED = {
    InquiryStatus.RESPONDED: "was already answered",
    InquiryStatus.TIMEOUT: "timed out",
    InquiryStatus.CANCELED: "was canceled",
}


def start_inquiry(execution_id: int) -> None:
    """Claim a requested `core.ask` execution, record its inquiry and leave it `pending`
    (safe to run twice)."""
    with transaction.atomic():
        now = timezone.now()
        if not transition(execution_id, S.RUNNING, only_from=WAITING_TO_RUN, started_at=now):
            logger.info("execution_id=%s not claimable, inquiry not started", execution_id)
            return
        execution = Execution.objects.get(pk=execution_id)
        parameters = execution.parameters
        schema = parameters.get("schema") or DEFAULT_SCHEMA
        problem = schema_problem(schema)
        if problem:
            finish_execution(execution_id, S.FAILED, error=f"invalid inquiry schema: {problem}")
            return
        ttl = parameters.get("ttl", 1440)
        inquiry = Inquiry.objects.create(
            execution=execution,
            workflow_id=execution.parent_id,
            schema=schema,
            route=parameters.get("route") or "",
            users=parameters.get("users") or [],
            roles=parameters.get("roles") or [],
            ttl=ttl,
            expires_at=now + timedelta(minutes=ttl) if ttl else None,
        )
        transition(execution_id, S.PENDING, only_from=[S.RUNNING])
        announce_inquiry(inquiry, "inquiry.created")
        dispatch_trigger(
            INQUIRY_TRIGGER,
            {"id": inquiry.pk, "route": inquiry.route},
            source=TriggerSource.ACTION,
            source_detail=str(execution_id),
        )
        if execution.parent_id is not None:  # its workflow pauses while it waits
            event = {"type": "child", "execution_id": execution_id}
            enqueue_on_commit(ADVANCE_WORKFLOW_TASK, execution.parent_id, event)
    logger.info("execution_id=%s inquiry pending, route=%r", execution_id, inquiry.route)


def schema_problem(schema) -> str | None:
    """Why `schema` cannot check answers (None when it can)."""
    if not isinstance(schema, dict):
        return "it must be an object"
    try:
        validator_for(schema, default=Draft202012Validator).check_schema(schema)
    except SchemaError as exc:
        return exc.message
    return None


def respond(inquiry_id: int, response, user) -> Inquiry:
    """Answer a pending inquiry: only a listed user or role holder, once, with an answer that
    matches its schema. The asking execution succeeds with the answer in its result."""
    with transaction.atomic():
        inquiry = Inquiry.objects.select_for_update().filter(pk=inquiry_id).first()
        if inquiry is None:
            raise NotFound(f"inquiry {inquiry_id} does not exist")
        check_answerable(inquiry, user)
        errors = answer_errors(inquiry.schema, response)
        if errors:
            detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
            raise InvalidInput(
                f"the response does not match the inquiry's schema: {detail}", errors=errors
            )
        inquiry.status = InquiryStatus.RESPONDED
        inquiry.response = response
        inquiry.responded_by = user
        inquiry.responded_at = timezone.now()
        inquiry.save(update_fields=["status", "response", "responded_by", "responded_at"])
        finish_execution(inquiry.pk, S.SUCCEEDED, result=inquiry.result())
        record_event(
            AuditAction.ANSWER, "inquiry", inquiry.pk, actor=user, detail={"response": response}
        )
        announce_inquiry(inquiry, "inquiry.responded")
    logger.info("inquiry %s answered by user_id=%s", inquiry_id, user.pk)
    return inquiry


def check_answerable(inquiry: Inquiry, user) -> None:
    """Refuse unless `user` may answer `inquiry` and it is still pending."""
    if not may_answer(user, inquiry, roles_of(user)):
        raise PermissionDenied(f"you may not answer inquiry {inquiry.pk}: {who_may(inquiry)}")
    if inquiry.status != InquiryStatus.PENDING:
        raise Conflict(f"inquiry {inquiry.pk} {ENDED[inquiry.status]}")


def answer_errors(schema: dict, response) -> list[dict]:
    """The ways `response` fails `schema`, each naming the field (`(root)` for the whole)."""
    if not isinstance(response, dict):
        return [{"field": "(root)", "message": "the response must be an object"}]
    validator = validator_for(schema, default=Draft202012Validator)(schema)
    return [
        {
            "field": ".".join(str(p) for p in error.absolute_path) or "(root)",
            "message": error.message,
        }
        for error in sorted(validator.iter_errors(response), key=lambda e: list(e.absolute_path))
    ]


def roles_of(user) -> set[str]:
    """Names of the enabled RBAC roles `user` holds, directly or through a group."""
    if user is None or isinstance(user, AnonymousUser) or not user.is_authenticated:
        return set()
    held = RoleAssignment.objects.filter(
        Q(user=user) | Q(group__in=user.groups.all()), role__is_enabled=True
    )
    return set(held.values_list("role__name", flat=True))


def may_answer(user, inquiry: Inquiry, roles: set[str]) -> bool:
    """Listed users and holders of listed roles may answer (as in StackStorm, whatever else
    they may do). A question that lists nobody is for whoever started the asking execution (the
    workflow's requester) and for holders of `inquiry_respond` (operators, admins)."""
    if inquiry.users or inquiry.roles:
        return user.get_username() in inquiry.users or bool(roles & set(inquiry.roles))
    return inquiry.execution.created_by_id == user.pk or grants_of(user).is_global(
        "inquiry_respond"
    )


def who_may(inquiry: Inquiry) -> str:
    if not (inquiry.users or inquiry.roles):
        return "only its requester and holders of inquiry_respond may"
    parts = []
    if inquiry.users:
        parts.append(f"users {', '.join(inquiry.users)}")
    if inquiry.roles:
        parts.append(f"roles {', '.join(inquiry.roles)}")
    return "only " + " and ".join(parts) + " may"


def expire_inquiries() -> list[int]:
    """Time out every pending inquiry past its TTL (the beat runs this every few seconds)."""
    due = Inquiry.objects.filter(status=InquiryStatus.PENDING, expires_at__lte=timezone.now())
    expired = [pk for pk in due.values_list("pk", flat=True)[:500] if expire_inquiry(pk)]
    if expired:
        logger.info("inquiries %s timed out", expired)
    return expired


def expire_inquiry(inquiry_id: int) -> bool:
    """Time out one inquiry if it is still pending and due; its execution ends `timeout`, which
    its workflow sees as a failed task (`when: <% failed() %>` can escalate)."""
    with transaction.atomic():
        inquiry = Inquiry.objects.select_for_update().filter(pk=inquiry_id).first()
        if inquiry is None or inquiry.status != InquiryStatus.PENDING:
            return False
        if inquiry.expires_at is None or inquiry.expires_at > timezone.now():
            return False
        inquiry.status = InquiryStatus.TIMEOUT
        inquiry.save(update_fields=["status"])
        error = f"inquiry not answered within {inquiry.ttl:g} minute(s)"
        finish_execution(inquiry.pk, S.TIMEOUT, result=inquiry.result(), error=error)
        announce_inquiry(inquiry, "inquiry.timeout")
    return True
