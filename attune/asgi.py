"""ASGI entry point: HTTP through Django (static files included) and the `/ws/stream/` WebSocket."""

import os
from concurrent.futures import ThreadPoolExecutor

import django
from asgiref.sync import ThreadSensitiveContext, sync_to_async
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

    def __init__(self):
        super().__init__()
        self._idle_threads: list[ThreadPoolExecutor] = []

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)
        self._middleware_chain = sync_to_async(self._middleware_chain, thread_sensitive=True)

    async def __call__(self, scope, receive, send):
        """Serve the request on a worker thread kept from an earlier request.

        Django gives every request a thread of its own, started for it and joined by yet
        another thread afterwards: two thread starts per request. Here a finished request's
        thread waits for the next one; there are as many as requests were ever served at once.
        """
        if scope["type"] != "http":
            raise ValueError(f"Django serves HTTP only, not {scope['type']}")
        thread = self._idle_threads.pop() if self._idle_threads else self._new_thread()
        try:
            async with ThreadSensitiveContext(executor=thread):
                await self.handle(scope, receive, send)
        finally:
            self._idle_threads.append(thread)

    @staticmethod
    def _new_thread() -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")


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
