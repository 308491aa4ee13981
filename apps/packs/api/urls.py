from rest_framework.routers import SimpleRouter

from apps.packs.api.views import PackViewSet

router = SimpleRouter(trailing_slash=False)
router.register("packs", PackViewSet, basename="pack")

urlpatterns = router.urls
