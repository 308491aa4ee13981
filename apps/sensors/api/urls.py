from rest_framework.routers import SimpleRouter

from apps.sensors.api.views import SensorViewSet

router = SimpleRouter(trailing_slash=False)
router.register("sensors", SensorViewSet, basename="sensor")

urlpatterns = router.urls
