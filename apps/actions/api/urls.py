from rest_framework.routers import SimpleRouter

from apps.actions.api.views import ActionViewSet

router = SimpleRouter(trailing_slash=False)
router.register("actions", ActionViewSet, basename="action")

urlpatterns = router.urls
