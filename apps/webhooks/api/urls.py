from django.urls import path

from apps.webhooks.api.views import WebhookView

urlpatterns = [path("webhooks/<path:name>", WebhookView.as_view(), name="webhook")]
