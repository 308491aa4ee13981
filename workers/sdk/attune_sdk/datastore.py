"""The datastore as pack code sees it: `get_value`, `set_value`, `delete_value`, `list_values`
(StackStorm's interface), over the platform's REST API.

The process authenticates with a token it got on stdin, valid only while its execution runs
(a sensor's: while the sensor is enabled) and only for the datastore. Standard library only.
"""

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

SYSTEM_SCOPE = "system"
USER_SCOPE = "user"
FULL_SYSTEM_SCOPE = "st2kv.system"
FULL_USER_SCOPE = "st2kv.user"
SCOPES = {SYSTEM_SCOPE: SYSTEM_SCOPE, USER_SCOPE: USER_SCOPE}
SCOPES.update({FULL_SYSTEM_SCOPE: SYSTEM_SCOPE, FULL_USER_SCOPE: USER_SCOPE})
TOKEN_HEADER = "X-Attune-Process-Token"
TIMEOUT_SECONDS = 30


class DatastoreError(Exception):
    """The datastore refused a call or could not be reached; the message says why."""


@dataclass(frozen=True)
class KeyValuePair:
    name: str
    value: object
    secret: bool
    scope: str
    expires_at: str | None


class DatastoreClient:
    """JSON over HTTP to `/api/v1/keys`."""

    def __init__(self, url: str, token: str):
        self._base = url.rstrip("/") + "/api/v1/keys"
        self._token = token

    def call(self, method: str, path: str = "", query=None, body=None):
        """Return (status, parsed JSON body or None)."""
        url = self._base + path + ("?" + urllib.parse.urlencode(query) if query else "")
        return self.call_url(method, url, body)

    def call_url(self, method: str, url: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header(TOKEN_HEADER, self._token)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                return error.code, json.loads(raw) if raw else None
            except ValueError:
                return error.code, {"detail": raw.decode(errors="replace")[:300]}
        except OSError as error:
            raise DatastoreError(f"datastore unreachable at {self._base}: {error}") from error


class DatastoreService:
    """StackStorm's datastore methods; `local=True` keys are named `<pack>.<Class>:<name>`."""

    def __init__(self, client: DatastoreClient | None, local_prefix: str):
        self._client = client
        self._local_prefix = local_prefix

    def get_value(self, name, local=True, scope=SYSTEM_SCOPE, decrypt=False):
        """The key's value, or None when there is no such key (or it expired)."""
        query = {"scope": scope_of(scope), "show_secrets": str(bool(decrypt)).lower()}
        status, body = self._call("GET", self._path(name, local), query)
        if status == 404:
            return None
        return self._checked(status, body)["value"]

    def set_value(self, name, value, ttl=None, local=True, scope=SYSTEM_SCOPE, encrypt=False):
        """Create or replace the key; `encrypt=True` stores it as a secret."""
        body = {"value": value, "secret": bool(encrypt), "ttl": ttl}
        status, reply = self._call("PUT", self._path(name, local), {"scope": scope_of(scope)}, body)
        self._checked(status, reply)
        return True

    def delete_value(self, name, local=True, scope=SYSTEM_SCOPE):
        """Delete the key; False when there was none."""
        status, body = self._call("DELETE", self._path(name, local), {"scope": scope_of(scope)})
        if status == 404:
            return False
        self._checked(status, body)
        return True

    def list_values(self, local=True, prefix=None, scope=SYSTEM_SCOPE, decrypt=False):
        """The keys whose names start with `prefix` (within this class's keys if `local`)."""
        full_prefix = self._full_name(prefix or "", local)
        query = {
            "scope": scope_of(scope),
            "prefix": full_prefix,
            "show_secrets": str(bool(decrypt)).lower(),
            "page_size": 500,
        }
        status, body = self._call("GET", "", query)
        pairs = []
        while True:
            body = self._checked(status, body)
            pairs += [pair_of(item) for item in body["results"]]
            if not body.get("next"):
                return pairs
            status, body = self._client.call_url("GET", body["next"])

    def _full_name(self, name: str, local: bool) -> str:
        return f"{self._local_prefix}:{name}" if local else name

    def _path(self, name: str, local: bool) -> str:
        return "/" + urllib.parse.quote(self._full_name(str(name), local), safe="")

    def _call(self, method, path, query, body=None):
        if self._client is None:
            raise DatastoreError("this process was started without datastore access")
        return self._client.call(method, path, query, body)

    @staticmethod
    def _checked(status: int, body):
        if status >= 400:
            detail = (body or {}).get("detail") if isinstance(body, dict) else body
            raise DatastoreError(f"datastore answered {status}: {detail}")
        return body


def scope_of(scope: str) -> str:
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {sorted(SCOPES)}, got {scope!r}")
    return SCOPES[scope]


def pair_of(item: dict) -> KeyValuePair:
    return KeyValuePair(
        item["name"], item["value"], item["secret"], item["scope"], item["expires_at"]
    )


def datastore_service(access: dict | None, local_prefix: str) -> DatastoreService:
    """The service for the access the platform granted (`{"url", "token"}`), if any."""
    client = DatastoreClient(access["url"], access["token"]) if access else None
    return DatastoreService(client, local_prefix)
