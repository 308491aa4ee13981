from rest_framework.routers import SimpleRouter

from apps.rules.api.views import RuleEnforcementViewSet, RuleViewSet

router = SimpleRouter(trailing_slash=False)
router.register("rules", RuleViewSet, basename="rule")
router.register("enforcements", RuleEnforcementViewSet, basename="enforcement")

urlpatterns = router.urls
