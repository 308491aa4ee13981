"""The raw floor of the webhook benchmark: a Django view that matches a dict and `.delay()`s a
bare Celery task running `subprocess.run(["true"])` (bench/raw_tasks.py).

Served by uvicorn with DJANGO_SETTINGS_MODULE=bench.floor_settings:

    uvicorn --port <port> bench.floor_web:application

`POST /webhooks/<name>` with a JSON body; when `name` and the body match the rule below, the task
is queued with the body's `sent_at` (the client's send time), which the task reports back with its
start time on a Redis list (bench/raw_tasks.py), so "sent -> started" is measured the same way as
for Attune.
"""

import json

from django.http import JsonResponse
from django.urls import path

# The floor's "rule": a webhook name and a dict the body must contain (as Attune's criteria).
WEBHOOK_NAME = "bench-latency"
MATCH = {"event": "bench"}


def webhook(request, name: str):
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return JsonResponse({"error": "body is not JSON"}, status=400)
    if name != WEBHOOK_NAME or not all(body.get(k) == v for k, v in MATCH.items()):
        return JsonResponse({"queued": False}, status=404)
    from bench.raw_tasks import raw_true

    raw_true.delay(float(body["sent_at"]))
    return JsonResponse({"queued": True}, status=202)


urlpatterns = [path("webhooks/<str:name>", webhook)]


def _application():
    from django.core.asgi import get_asgi_application

    return get_asgi_application()


application = _application()
