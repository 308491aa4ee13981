from rest_framework.routers import SimpleRouter

from apps.datastore.api.views import KeyViewSet

router = SimpleRouter(trailing_slash=False)
router.register("keys", KeyViewSet, basename="key")

urlpatterns = router.urls
