from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import ListAPIView
from rest_framework.response import Response

from apps.core.exceptions import NotFound, PermissionDenied
from apps.executions.models import Execution
from apps.rbac.authorization import has_permission, visible_queryset
from apps.workflows import services
from apps.workflows.api.serializers import (
    RerunExecutionSerializer,
    TaskExecutionSerializer,
    WorkflowRerunRequestSerializer,
    WorkflowSerializer,
)
from apps.workflows.models import TaskExecution, WorkflowExecution


def visible_executions(user):
    return visible_queryset(user, "execution", Execution.objects.all())


class WorkflowViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Workflow executions (by execution id): tasks, pause, resume and re-run from tasks.

    A workflow is seen, paused, resumed and re-run under its execution's permissions: others'
    are 404, and changing one needs `execution_modify`, re-running it `execution_view` (like
    re-running any execution)."""

    serializer_class = WorkflowSerializer
    verbs = {"pause": "modify", "resume": "modify", "rerun": "view", "retrieve": "view"}

    def get_queryset(self):
        workflows = WorkflowExecution.objects.select_related("execution").prefetch_related("tasks")
        return workflows.filter(execution__in=visible_executions(self.request.user))

    def get_object(self):
        workflow = super().get_object()
        permission = f"execution_{self.verbs[self.action]}"
        if not has_permission(self.request.user, permission, workflow.execution):
            raise PermissionDenied("your roles do not allow this on this resource")
        return workflow

    @extend_schema(request=None, responses={202: WorkflowSerializer})
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        services.pause_workflow(self.get_object().pk, user=request.user)
        return Response(self.fresh(pk), status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={202: WorkflowSerializer})
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        services.resume_workflow(self.get_object().pk, user=request.user)
        return Response(self.fresh(pk), status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=WorkflowRerunRequestSerializer, responses={201: RerunExecutionSerializer}
    )
    @action(detail=True, methods=["post"])
    def rerun(self, request, pk=None):
        body = WorkflowRerunRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        execution = services.rerun_workflow(
            self.get_object().pk,
            tasks=body.validated_data["tasks"],
            reset=body.validated_data["reset"],
            user=request.user,
        )
        return Response(RerunExecutionSerializer(execution).data, status=status.HTTP_201_CREATED)

    def fresh(self, pk) -> dict:
        return WorkflowSerializer(self.get_queryset().get(pk=pk)).data


class ExecutionTasksView(ListAPIView):
    """The task instances of a workflow execution, in the order they started."""

    queryset = TaskExecution.objects.none()  # the model, for the schema
    serializer_class = TaskExecutionSerializer
    pagination_class = None

    def get_queryset(self):
        workflows = WorkflowExecution.objects.filter(
            execution__in=visible_executions(self.request.user)
        )
        if not workflows.filter(pk=self.kwargs["pk"]).exists():
            raise NotFound(f"execution {self.kwargs['pk']} is not a workflow")
        tasks = TaskExecution.objects.filter(workflow_id=self.kwargs["pk"])
        return tasks.select_related("workflow__execution").order_by("task_id")
