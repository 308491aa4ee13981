"""ASGI entry point: HTTP through Django (static files included) and the `/ws/stream/` WebSocket."""

import os

import django
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attune.settings")
django.setup(set_prefix=False)


class OneHopASGIHandler(ASGIHandler):
    """Django's ASGI handler, running the whole middleware chain and the view in the worker
    thread in one hop.

    Every middleware and view of this project is synchronous. Built for async, Django's chain
    hopped from the event loop to a thread for the middleware, back to the loop under the
    audit middleware, and to the thread again for the view: three hand-offs per request where
    one does. Requests still run one at a time per process on the same thread, as before.
    """

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)
        self._middleware_chain = sync_to_async(self._middleware_chain, thread_sensitive=True)


django_asgi_app = OneHopASGIHandler()

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
