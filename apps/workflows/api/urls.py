from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.workflows.api.views import ExecutionTasksView, WorkflowViewSet

router = SimpleRouter(trailing_slash=False)
router.register("workflows", WorkflowViewSet, basename="workflow")

urlpatterns = [
    path("executions/<int:pk>/tasks", ExecutionTasksView.as_view(), name="execution-tasks"),
    *router.urls,
]
