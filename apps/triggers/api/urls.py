from rest_framework.routers import SimpleRouter

from apps.triggers.api.views import TriggerInstanceViewSet, TriggerTypeViewSet

router = SimpleRouter(trailing_slash=False)
router.register("triggertypes", TriggerTypeViewSet, basename="triggertype")
router.register("triggerinstances", TriggerInstanceViewSet, basename="triggerinstance")

urlpatterns = router.urls
