from django.urls import path

from apps.notifications.consumers import StreamConsumer

websocket_urlpatterns = [path("ws/stream/", StreamConsumer.as_asgi())]
