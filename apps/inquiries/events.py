"""Live notification events about inquiries (see apps.notifications)."""

from django.contrib.auth import get_user_model
from django.db.models import Q

from apps.executions.events import lineage
from apps.inquiries.api.serializers import InquirySerializer
from apps.inquiries.models import Inquiry
from apps.notifications.services import event, publish
from apps.rbac.models import RoleAssignment


def announce_inquiry(inquiry: Inquiry, event_type: str) -> None:
    """Publish `inquiry.created|responded|timeout` to the workflow's owner and the people who
    may answer, matching subscriptions to the asking execution and its workflows."""
    execution = inquiry.execution
    payload = InquirySerializer(inquiry).data
    audience = [execution.created_by_id, *approver_ids(inquiry)]
    publish(
        event(
            event_type,
            "inquiry",
            inquiry.pk,
            payload,
            audience=audience,
            action_ref=execution.action_ref,
            lineage=lineage(execution),
        )
    )


def approver_ids(inquiry: Inquiry) -> list[int]:
    """Ids of the listed users and of every holder of a listed role."""
    if not inquiry.users and not inquiry.roles:
        return []
    holders = RoleAssignment.objects.filter(role__name__in=inquiry.roles, role__is_enabled=True)
    users = get_user_model().objects.filter(
        Q(username__in=inquiry.users)
        | Q(pk__in=holders.filter(user__isnull=False).values("user_id"))
        | Q(groups__in=holders.filter(group__isnull=False).values("group_id"))
    )
    return list(users.values_list("pk", flat=True).distinct())
