"""ASGI entry point: HTTP through Django (static files included); WebSocket routes join here."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attune.settings")

django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402  (needs Django set up first)
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

# Daphne serves the admin's CSS and JS itself, so one process is the whole web tier.
application = ProtocolTypeRouter({"http": ASGIStaticFilesHandler(django_asgi_app)})
