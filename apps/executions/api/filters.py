import django_filters

from apps.executions.choices import ExecutionStatus
from apps.executions.models import Execution


class ExecutionFilter(django_filters.FilterSet):
    action = django_filters.CharFilter(field_name="action_ref")
    status = django_filters.MultipleChoiceFilter(choices=ExecutionStatus.choices)
    parent = django_filters.NumberFilter(field_name="parent_id")
    requested_after = django_filters.IsoDateTimeFilter(field_name="requested_at", lookup_expr="gte")
    requested_before = django_filters.IsoDateTimeFilter(field_name="requested_at", lookup_expr="lt")

    class Meta:
        model = Execution
        fields = ["action", "status", "parent", "requested_after", "requested_before"]
