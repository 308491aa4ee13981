"""A throwaway local HTTP server for tests of the HTTP runner: it records every request.

Paths: `/echo` replies with JSON describing the request; `/status/<code>` replies with that
status and a JSON `detail`; `/text` replies with plain text; `/bytes/<n>` replies with n bytes;
`/slow/<seconds>` waits before replying.
"""

import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Seen:
    """One request the server received."""

    method: str
    path: str
    query: dict
    headers: dict  # lower-case names
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class RecordingServer:
    url: str
    requests: list = field(default_factory=list)

    def only_request(self) -> Seen:
        assert len(self.requests) == 1, self.requests
        return self.requests[0]


class Handler(BaseHTTPRequestHandler):
    server_version = "TestServer/1"

    def log_message(self, format, *args):  # noqa: A002 - keep test output quiet
        pass

    def handle_one(self):
        length = int(self.headers.get("Content-Length") or 0)
        parts = urlsplit(self.path)
        seen = Seen(
            method=self.command,
            path=parts.path,
            query={k: v[0] for k, v in parse_qs(parts.query).items()},
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
        )
        self.server.recording.requests.append(seen)
        self.reply(seen)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_one

    def reply(self, seen: Seen):
        name, _, argument = seen.path.strip("/").partition("/")
        if name == "status":
            self.send(int(argument), {"detail": f"you asked for {argument}"})
        elif name == "text":
            self.send(200, b"plain words", "text/plain; charset=utf-8")
        elif name == "bytes":
            self.send(200, b"x" * int(argument), "application/octet-stream")
        elif name == "slow":
            time.sleep(float(argument))
            self.send(200, {"slept": float(argument)})
        else:
            body = seen.body.decode("utf-8", errors="replace")
            self.send(200, {**seen.__dict__, "body": body})

    def send(self, status: int, body, content_type: str = "application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextmanager
def recording_server():
    """Serve on a free port of 127.0.0.1 in a thread; yield a `RecordingServer`."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.recording = RecordingServer(url=f"http://127.0.0.1:{httpd.server_address[1]}")
    thread = threading.Thread(
        target=httpd.serve_forever, args=(0.05,), daemon=True, name="test-http-server"
    )
    thread.start()
    try:
        yield httpd.recording
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
