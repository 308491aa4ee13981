"""ASGI entry point: HTTP through Django (static files included) and the `/ws/stream/` WebSocket."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attune.settings")

django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402  (needs Django set up)
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from apps.core.memory import tune_for_latency  # noqa: E402
from apps.notifications.routing import websocket_urlpatterns  # noqa: E402

# The web server serves the admin's CSS and JS itself, so one process is the whole web tier.
application = ProtocolTypeRouter(
    {
        "http": ASGIStaticFilesHandler(django_asgi_app),
        "websocket": URLRouter(websocket_urlpatterns),
    }
)

# Last: everything loaded so far stays out of later garbage collections.
tune_for_latency()
