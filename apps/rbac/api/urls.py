from rest_framework.routers import SimpleRouter

from apps.rbac.api.views import AssignmentViewSet, RoleViewSet

router = SimpleRouter(trailing_slash=False)
router.register("rbac/roles", RoleViewSet, basename="rbac-role")
router.register("rbac/assignments", AssignmentViewSet, basename="rbac-assignment")

urlpatterns = router.urls
