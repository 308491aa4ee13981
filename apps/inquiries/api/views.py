from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.exceptions import InvalidInput, NotFound
from apps.executions.events import lineage
from apps.executions.models import Execution
from apps.inquiries import services
from apps.inquiries.api.serializers import InquiryResponseSerializer, InquirySerializer
from apps.inquiries.choices import InquiryStatus
from apps.inquiries.models import Inquiry
from apps.rbac.authorization import grants_of, visible_queryset

# Lists are filtered in Python (who may answer lives in JSON lists): the newest this many.
LIST_LIMIT = 500


class Visibility:
    """Who sees an inquiry: whoever may see its execution, holders of `inquiry_view`, and the
    people it asks."""

    def __init__(self, user):
        self.user = user
        self.roles = services.roles_of(user)
        self.sees_all = grants_of(user).is_global("inquiry_view")
        self.seen_executions: set[int] = set()

    def visible(self, inquiries: list[Inquiry]) -> list[Inquiry]:
        """Those of `inquiries` the user may see."""
        executions = Execution.objects.filter(pk__in=[i.pk for i in inquiries])
        seen = visible_queryset(self.user, "execution", executions).values_list("pk", flat=True)
        self.seen_executions |= set(seen)
        return [i for i in inquiries if self.sees(i)]

    def sees(self, inquiry: Inquiry) -> bool:
        return self.sees_all or inquiry.pk in self.seen_executions or self.is_asked(inquiry)

    def is_asked(self, inquiry: Inquiry) -> bool:
        return bool(inquiry.users or inquiry.roles) and self.may_answer(inquiry)

    def can_answer(self, inquiry: Inquiry) -> bool:
        return inquiry.status == InquiryStatus.PENDING and self.may_answer(inquiry)

    def may_answer(self, inquiry: Inquiry) -> bool:
        return services.may_answer(self.user, inquiry, self.roles)

    def represent(self, inquiry: Inquiry) -> dict:
        return {**InquirySerializer(inquiry).data, "can_answer": self.can_answer(inquiry)}


def inquiries_with_execution():
    return Inquiry.objects.select_related("execution", "responded_by")


class InquiryListView(APIView):
    """Inquiries you may see, newest first: `?status=pending`, `?can_answer=true` (pending ones
    you may answer), `?workflow=<execution id>` (asked by that workflow or one nested in it)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=InquiryStatus.values),
            OpenApiParameter("can_answer", bool),
            OpenApiParameter("workflow", int),
        ],
        responses={200: InquirySerializer(many=True)},
    )
    def get(self, request):
        inquiries = inquiries_with_execution()
        status = request.query_params.get("status")
        if status:
            if status not in InquiryStatus.values:
                raise InvalidInput(f"status must be one of {', '.join(InquiryStatus.values)}")
            inquiries = inquiries.filter(status=status)
        visibility = Visibility(request.user)
        found = visibility.visible(list(inquiries[:LIST_LIMIT]))
        workflow = request.query_params.get("workflow")
        if workflow:
            if not workflow.isdigit():
                raise InvalidInput("workflow must be an execution id")
            found = [i for i in found if int(workflow) in lineage(i.execution)[1:]]
        if request.query_params.get("can_answer") in ("true", "1"):
            found = [i for i in found if visibility.can_answer(i)]
        return Response([visibility.represent(i) for i in found])


class InquiryDetailView(APIView):
    """One inquiry; `PUT` `{"response": {...}}` answers it."""

    def find(self, request, pk: int) -> tuple[Inquiry, Visibility]:
        inquiry = inquiries_with_execution().filter(pk=pk).first()
        visibility = Visibility(request.user)
        if inquiry is None or not visibility.visible([inquiry]):
            raise NotFound(f"inquiry {pk} does not exist")
        return inquiry, visibility

    @extend_schema(responses={200: InquirySerializer})
    def get(self, request, pk: int):
        inquiry, visibility = self.find(request, pk)
        return Response(visibility.represent(inquiry))

    @extend_schema(request=InquiryResponseSerializer, responses={200: InquirySerializer})
    def put(self, request, pk: int):
        _, visibility = self.find(request, pk)
        body = InquiryResponseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        inquiry = services.respond(pk, body.validated_data["response"], request.user)
        return Response(visibility.represent(inquiry))
