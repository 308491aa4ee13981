import django_filters

from apps.triggers.choices import TriggerInstanceStatus, TriggerSource
from apps.triggers.models import TriggerInstance


class TriggerInstanceFilter(django_filters.FilterSet):
    trigger = django_filters.CharFilter(field_name="trigger_ref")
    status = django_filters.MultipleChoiceFilter(choices=TriggerInstanceStatus.choices)
    source = django_filters.ChoiceFilter(choices=TriggerSource.choices)
    occurred_after = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = TriggerInstance
        fields = ["trigger", "status", "source", "occurred_after", "occurred_before"]
