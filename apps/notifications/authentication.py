"""Who is connecting to the stream: a token or API key (header or subprotocol) or the session.

Credentials never travel in the URL, which proxies and servers log. Browsers cannot set headers
on a WebSocket, so they pass the token as a subprotocol (`attune.token.<token>`) next to the
plain `attune` protocol that the server echoes back; the admin and `/live/` use the session,
accepted only from this site's own origin so other sites cannot borrow it.
"""

from http.cookies import SimpleCookie
from importlib import import_module
from types import SimpleNamespace
from urllib.parse import urlparse

from django.conf import settings
from django.contrib.auth import get_user
from django.http.request import validate_host

from apps.accounts.services import user_for_api_key, user_for_token

PROTOCOL = "attune"
TOKEN_PROTOCOL_PREFIX = "attune.token."
API_KEY_PROTOCOL_PREFIX = "attune.apikey."


def authenticate_scope(scope):
    """Return the active user the connection speaks for, or None to refuse it."""
    headers = dict(scope.get("headers", []))
    authorization = headers.get(b"authorization", b"").decode("latin-1")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        return user_for_token(token.strip()) if scheme.lower() == "bearer" else None
    if b"x-api-key" in headers:
        return user_for_api_key(headers[b"x-api-key"].decode("latin-1").strip())
    for protocol in scope.get("subprotocols", []):
        if protocol.startswith(TOKEN_PROTOCOL_PREFIX):
            return user_for_token(protocol.removeprefix(TOKEN_PROTOCOL_PREFIX))
        if protocol.startswith(API_KEY_PROTOCOL_PREFIX):
            return user_for_api_key(protocol.removeprefix(API_KEY_PROTOCOL_PREFIX))
    return session_user(scope, headers)


def session_user(scope, headers: dict):
    """The user of the admin session cookie, when the request comes from this site's pages.

    Read here rather than through Channels' session middleware, which would wrap every message
    the stream sends."""
    origin = headers.get(b"origin", b"").decode("latin-1")
    if not origin or not validate_host(urlparse(origin).hostname or "", settings.ALLOWED_HOSTS):
        return None
    cookies = SimpleCookie(headers.get(b"cookie", b"").decode("latin-1"))
    morsel = cookies.get(settings.SESSION_COOKIE_NAME)
    if morsel is None:
        return None
    session = import_module(settings.SESSION_ENGINE).SessionStore(morsel.value)
    user = get_user(SimpleNamespace(session=session))
    return user if user.is_authenticated and user.is_active else None
