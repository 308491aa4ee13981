from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.policies.api.views import PolicyTypeView, PolicyViewSet

router = SimpleRouter(trailing_slash=False)
router.register("policies", PolicyViewSet, basename="policy")

urlpatterns = [path("policytypes", PolicyTypeView.as_view(), name="policy-types"), *router.urls]
