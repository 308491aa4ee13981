from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.accounts.api.views import ApiKeyViewSet, LogoutView, TokenView

router = SimpleRouter(trailing_slash=False)
router.register("apikeys", ApiKeyViewSet, basename="apikey")

urlpatterns = [
    path("auth/token", TokenView.as_view(), name="auth-token"),
    path("auth/logout", LogoutView.as_view(), name="auth-logout"),
    *router.urls,
]
