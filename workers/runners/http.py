"""The `http-request` runner: one HTTP call with requests, as StackStorm's `core.http`.

The call runs in a helper thread while the runner waits on the cancel pipe, the thread's done
pipe and the heartbeat clock together, so a cancel or the overall timeout ends the execution at
once. An abandoned call finishes in the background; requests' own timeout bounds it.
"""

import json
import os
import selectors
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests

from apps.executions.choices import ExecutionStatus
from apps.executions.masking import mask_secret_values
from workers.runners.base import RunControl, Runner, RunRequest, RunResult, register
from workers.runners.process import READ_CHUNK, CappedBuffer

# Must equal apps.webhooks.services.HOP_HEADER (kept apart: runners do not import app services).
HOP_HEADER = "X-Attune-Hop"
TRUNCATION_MARKER = "\n[... response body truncated by Attune after {kept} bytes ...]\n"
ERROR_BODY_CHARS = 300


class InvalidCall(ValueError):
    """The parameters do not describe a request that can be sent."""


@dataclass(frozen=True)
class HttpCall:
    """Everything `requests` needs for one call, as plain data."""

    method: str
    url: str
    headers: dict
    params: dict
    body: Any
    cookies: dict
    basic_auth: tuple | None
    timeout: float | None
    verify_ssl: bool
    allow_redirects: bool
    credentials: list = field(default_factory=list)  # strings to mask in the result


@register
class HttpRequestRunner(Runner):
    """Send one HTTP request; 2xx/3xx succeed, 4xx/5xx and connection errors fail."""

    name = "http-request"

    def run(self, request: RunRequest, control: RunControl) -> RunResult:
        try:
            call = build_call(request)
        except InvalidCall as exc:
            return RunResult.failure(str(exc))
        max_bytes = request.limits.output_max_bytes
        ended_by, box = run_in_thread(lambda: perform(call, max_bytes), call.timeout, control)
        if ended_by == "cancel":
            error = "canceled while waiting for the reply"
            result = RunResult(ExecutionStatus.CANCELED, {"error": error}, error=error)
        elif ended_by == "timeout" or isinstance(box.error, requests.Timeout):
            error = f"{call.method} {call.url} got no reply within {call.timeout} s"
            result = RunResult(ExecutionStatus.TIMEOUT, {"error": error}, error=error)
        elif box.error is not None:
            result = RunResult.failure(describe_error(call, box.error))
        else:
            result = finished(call, box.value)
        return mask_credentials(result, call.credentials)


def build_call(request: RunRequest) -> HttpCall:
    """Turn the runner parameters into an `HttpCall`, adding the auth and hop headers."""
    values = {**request.parameters, **request.runner_parameters}
    headers = {str(k): str(v) for k, v in (values.get("headers") or {}).items()}
    basic_auth, credentials = apply_auth(values.get("auth"), headers)
    cookies = {str(k): str(v) for k, v in (values.get("cookies") or {}).items()}
    credentials += list(cookies.values())
    # Ours wins over any caller-supplied hop count, so a chain cannot reset its own count.
    headers = {k: v for k, v in headers.items() if k.lower() != HOP_HEADER.lower()}
    headers[HOP_HEADER] = str(int(request.context.get("webhook_hops") or 0) + 1)
    return HttpCall(
        method=str(values.get("method") or "GET").upper(),
        url=values["url"],
        headers=headers,
        params=values.get("params") or {},
        body=values.get("body"),
        cookies=cookies,
        basic_auth=basic_auth,
        timeout=values.get("timeout"),
        verify_ssl=values.get("verify_ssl", True),
        allow_redirects=values.get("allow_redirects", True),
        credentials=credentials,
    )


def apply_auth(auth: dict | None, headers: dict) -> tuple[tuple | None, list]:
    """Return (basic auth pair or None, secret strings); a bearer token becomes a header."""
    if not auth:
        return None, []
    kind = auth.get("type")
    if kind == "basic":
        if not auth.get("username") or auth.get("password") is None:
            raise InvalidCall("basic auth needs `username` and `password`")
        username, password = str(auth["username"]), str(auth["password"])
        return (username, password), [password]
    if kind == "bearer":
        if not auth.get("token"):
            raise InvalidCall("bearer auth needs `token`")
        token = str(auth["token"])
        headers["Authorization"] = f"Bearer {token}"
        return None, [token]
    raise InvalidCall(f"unknown auth type {kind!r}; use 'basic' or 'bearer'")


@dataclass
class Outcome:
    """What the helper thread produced: a value or an exception."""

    value: Any = None
    error: BaseException | None = None


def run_in_thread(work, timeout: float | None, control: RunControl) -> tuple[str, Outcome]:
    """Run `work()` in a thread; return ("done" | "cancel" | "timeout", outcome)."""
    done_read, done_write = os.pipe()
    outcome = Outcome()

    def target():
        try:
            outcome.value = work()
        except BaseException as exc:  # noqa: BLE001 - handed back to the runner
            outcome.error = exc
        finally:
            # The write end belongs to this thread; the reader may already have gone (EPIPE).
            try:
                os.write(done_write, b"x")
            except OSError:
                pass
            os.close(done_write)

    threading.Thread(target=target, daemon=True, name="http-request").start()
    try:
        return wait_for_thread(done_read, timeout, control), outcome
    finally:
        os.close(done_read)


def wait_for_thread(done_fd: int, timeout: float | None, control: RunControl) -> str:
    now = time.monotonic()
    deadline = now + timeout if timeout else float("inf")
    next_heartbeat = now + control.heartbeat_seconds
    with selectors.DefaultSelector() as selector:
        selector.register(done_fd, selectors.EVENT_READ, "done")
        selector.register(control.cancel_fd, selectors.EVENT_READ, "cancel")
        while True:
            now = time.monotonic()
            if now >= deadline:
                return "timeout"
            if now >= next_heartbeat:
                control.heartbeat()
                next_heartbeat = now + control.heartbeat_seconds
            events = selector.select(min(deadline, next_heartbeat) - now)
            if events:
                # A finished call wins over a cancel that arrives in the same instant.
                return "done" if any(key.data == "done" for key, _ in events) else "cancel"


def perform(call: HttpCall, max_bytes: int) -> dict:
    """Send the request and return StackStorm's result: status_code, headers, body, parsed."""
    with requests.Session() as session:
        response = session.request(
            call.method,
            call.url,
            headers=call.headers,
            params=call.params,
            cookies=call.cookies,
            auth=call.basic_auth,
            timeout=call.timeout,
            verify=call.verify_ssl,
            allow_redirects=call.allow_redirects,
            stream=True,
            **body_arguments(call.body),
        )
        with response:
            text, is_complete = read_body(response, max_bytes)
    parsed, value = parse_body(text, response.headers.get("Content-Type", ""), is_complete)
    return {
        "status_code": response.status_code,
        "headers": dict(response.headers),
        "body": value,
        "parsed": parsed,
        "reason": response.reason or "",
    }


def body_arguments(body) -> dict:
    """A string is sent as it is (UTF-8); an object or array as JSON."""
    if body is None:
        return {}
    if isinstance(body, str):
        return {"data": body.encode()}
    return {"json": body}


def read_body(response: requests.Response, max_bytes: int) -> tuple[str, bool]:
    """Read at most `max_bytes` of the body; stop there rather than download the rest."""
    buffer = CappedBuffer(max_bytes)
    for chunk in response.iter_content(READ_CHUNK):
        buffer.append(chunk)
        if buffer.is_truncated:
            break
    try:
        text = bytes(buffer.data).decode(response.encoding or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        text = bytes(buffer.data).decode("utf-8", errors="replace")
    if buffer.is_truncated:
        return text + TRUNCATION_MARKER.format(kept=len(buffer.data)), False
    return text, True


def parse_body(text: str, content_type: str, is_complete: bool) -> tuple[bool, Any]:
    """Return (parsed, body): JSON replies become data, as StackStorm does; others stay text."""
    media_type = content_type.split(";")[0].strip().lower()
    if not is_complete or not (media_type == "application/json" or media_type.endswith("+json")):
        return False, text
    try:
        return True, json.loads(text)
    except ValueError:
        return False, text


def finished(call: HttpCall, reply: dict) -> RunResult:
    reason = reply.pop("reason")
    code = reply["status_code"]
    if code < 400:
        return RunResult(ExecutionStatus.SUCCEEDED, reply)
    error = f"{call.method} {call.url} returned {code} {reason}".rstrip()
    detail = error_detail(reply["body"])
    return RunResult(ExecutionStatus.FAILED, reply, error=f"{error}: {detail}" if detail else error)


def error_detail(body) -> str:
    """A short reason from the reply: a JSON `detail`/`message`/`error`, else the body's start."""
    if isinstance(body, dict):
        for key in ("detail", "message", "error"):
            if isinstance(body.get(key), str):
                return body[key]
        return ""
    return str(body).strip()[:ERROR_BODY_CHARS]


def describe_error(call: HttpCall, error: BaseException) -> str:
    if isinstance(error, requests.ConnectionError):
        return f"could not connect to {call.url}: {error}"
    if isinstance(error, requests.RequestException):
        return f"{call.method} {call.url} failed: {error}"
    return f"{call.method} {call.url} failed: {type(error).__name__}: {error}"


def mask_credentials(result: RunResult, credentials: list) -> RunResult:
    """Hide auth and cookie values wherever the reply echoed them.

    The executor masks secret parameters whose values are strings; `auth` and `cookies` are
    objects, so their inner values are masked here, where the runner knows which are secret.
    """
    result.result = mask_secret_values(result.result, credentials)
    result.error = mask_secret_values(result.error, credentials)
    return result
