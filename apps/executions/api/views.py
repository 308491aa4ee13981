from channels.db import database_sync_to_async
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.core.api.pagination import NewestFirstCursorPagination
from apps.core.cache import one_read_of_versions
from apps.executions import services
from apps.executions.api.filters import ExecutionFilter
from apps.executions.api.serializers import (
    ExecutionOutputSerializer,
    ExecutionRequestSerializer,
    ExecutionSerializer,
    RerunRequestSerializer,
    execution_representation,
)
from apps.executions.models import Execution
from apps.executions.output import follow_output, output_so_far
from apps.rbac.drf import ScopedViewMixin
from apps.rbac.services import runnable_action


class ExecutionViewSet(
    ScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Request executions, follow them, cancel and re-run them."""

    queryset = Execution.objects.select_related("created_by")
    serializer_class = ExecutionSerializer
    filterset_class = ExecutionFilter
    pagination_class = NewestFirstCursorPagination
    rbac_resource = "execution"
    rbac_verbs = {"cancel": "modify", "output": "view", "rerun": "view"}

    @extend_schema(request=ExecutionRequestSerializer, responses={201: ExecutionSerializer})
    def create(self, request):
        body = ExecutionRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with one_read_of_versions():  # the authorization and the request: one read
            runnable_action(request.user, body.validated_data["action"])
            execution = services.request_execution(
                body.validated_data["action"],
                body.validated_data["parameters"],
                user=request.user,
            )
        return Response(execution_representation(execution), status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={202: ExecutionSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        execution = services.cancel_execution(self.get_object().pk, user=request.user)
        return Response(execution_representation(execution), status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        parameters=[OpenApiParameter("follow", bool, description="stream until it finishes")],
        responses={200: ExecutionOutputSerializer},
    )
    @action(detail=True, methods=["get"])
    def output(self, request, pk=None):
        """What the execution printed so far; with `?follow=true`, NDJSON lines as it prints
        (`{"stream", "data"}`), ending with `{"end": true, "status"}`."""
        execution = self.get_object()
        if request.query_params.get("follow", "").lower() in ("1", "true", "yes"):
            lines = follow_output(execution.pk, database_sync_to_async(services.get_execution))
            return StreamingHttpResponse(lines, content_type="application/x-ndjson")
        body = {"execution": execution.pk, "status": execution.status}
        return Response({**body, **output_so_far(execution)})

    @extend_schema(request=RerunRequestSerializer, responses={201: ExecutionSerializer})
    @action(detail=True, methods=["post"])
    def rerun(self, request, pk=None):
        body = RerunRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        original = self.get_object()
        runnable_action(request.user, original.action_ref)
        execution = services.rerun_execution(
            original.pk, user=request.user, parameters=body.validated_data["parameters"]
        )
        return Response(execution_representation(execution), status=status.HTTP_201_CREATED)
