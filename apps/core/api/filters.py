"""Query-parameter filtering for the API's lists."""

from django_filters.rest_framework import DjangoFilterBackend


class ListFilterBackend(DjangoFilterBackend):
    """django-filter's backend, for lists only.

    A view set's detail actions (retrieve, cancel, rerun, ...) name their object by id; DRF
    would still build the list's filter set for them, which deep-copies every declared filter:
    a third of the CPU of a detail request. Views that are not view sets have no `action` and
    are filtered as before.
    """

    def filter_queryset(self, request, queryset, view):
        if getattr(view, "action", "list") != "list":
            return queryset
        return super().filter_queryset(request, queryset, view)
