from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.core.api.pagination import NewestFirstCursorPagination
from apps.executions import services
from apps.executions.api.filters import ExecutionFilter
from apps.executions.api.serializers import (
    ExecutionRequestSerializer,
    ExecutionSerializer,
    RerunRequestSerializer,
)
from apps.executions.models import Execution


class ExecutionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Request executions, follow them, cancel and re-run them."""

    queryset = Execution.objects.select_related("created_by")
    serializer_class = ExecutionSerializer
    filterset_class = ExecutionFilter
    pagination_class = NewestFirstCursorPagination

    @extend_schema(request=ExecutionRequestSerializer, responses={201: ExecutionSerializer})
    def create(self, request):
        body = ExecutionRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        execution = services.request_execution(
            body.validated_data["action"],
            body.validated_data["parameters"],
            user=request.user,
        )
        return Response(ExecutionSerializer(execution).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={202: ExecutionSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        execution = services.cancel_execution(self.get_object().pk, user=request.user)
        return Response(ExecutionSerializer(execution).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=RerunRequestSerializer, responses={201: ExecutionSerializer})
    @action(detail=True, methods=["post"])
    def rerun(self, request, pk=None):
        body = RerunRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        execution = services.rerun_execution(
            self.get_object().pk, user=request.user, parameters=body.validated_data["parameters"]
        )
        return Response(ExecutionSerializer(execution).data, status=status.HTTP_201_CREATED)
