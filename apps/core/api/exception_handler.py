"""One exception handler: every API error is JSON `{"detail", "code", "errors"?}`."""

import logging

import kombu.exceptions
import redis
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import OperationalError as DatabaseOperationalError
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from apps.core.exceptions import AttuneError

logger = logging.getLogger(__name__)

# Redis (caches, rate limits, events) or the Celery broker on it cannot be reached.
REDIS_UNREACHABLE = (redis.ConnectionError, redis.TimeoutError, kombu.exceptions.OperationalError)


def handle_exception(exc, context):
    """Translate domain, DRF and unexpected errors into JSON responses."""
    if isinstance(exc, AttuneError):
        body = {"detail": exc.detail, "code": exc.code}
        if exc.errors:
            body["errors"] = exc.errors
        return Response(body, status=exc.status_code, headers=getattr(exc, "headers", None))
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": str(exc), "code": "too_large"}, status=413)
    if isinstance(exc, DatabaseOperationalError):
        return unavailable("The database", exc)
    if isinstance(exc, REDIS_UNREACHABLE):
        return unavailable("Redis", exc)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled error in %s", context.get("view").__class__.__name__)
        return Response({"detail": "Internal server error.", "code": "server_error"}, status=500)
    response.data = drf_error_body(exc, response.data)
    return response


def unavailable(service: str, exc) -> Response:
    """503 with Retry-After: a service the platform needs is down, not the caller's fault."""
    logger.error("%s unavailable: %s", service, exc)
    body = {"detail": f"{service} is unavailable; try again shortly.", "code": "unavailable"}
    return Response(body, status=503, headers={"Retry-After": "5"})


def drf_error_body(exc, data) -> dict:
    """Flatten DRF's error data into our shape, keeping field errors under `errors`."""
    if isinstance(exc, drf_exceptions.ValidationError):
        return {"detail": summarize_field_errors(data), "code": "invalid", "errors": data}
    detail = data.get("detail", str(exc)) if isinstance(data, dict) else str(exc)
    code = getattr(exc, "default_code", "error")
    if isinstance(exc, drf_exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else code
    return {"detail": str(detail), "code": code}


def summarize_field_errors(data) -> str:
    """Return one line naming every field that failed, e.g. `action: This field is required.`"""
    if isinstance(data, dict):
        parts = []
        for field, messages in data.items():
            text = messages[0] if isinstance(messages, list) and messages else messages
            parts.append(f"{field}: {text}")
        return "; ".join(parts)
    if isinstance(data, list) and data:
        return str(data[0])
    return str(data)
