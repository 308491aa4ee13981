from rest_framework.routers import SimpleRouter

from apps.executions.api.views import ExecutionViewSet

router = SimpleRouter(trailing_slash=False)
router.register("executions", ExecutionViewSet, basename="execution")

urlpatterns = router.urls
