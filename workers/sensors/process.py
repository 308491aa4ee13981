"""One sensor's process: start it with the SDK wrapper, read its pipes, stop it.

The process gets PYTHONPATH=workers/sdk only and a minimal environment (never the
container's, which holds the database URL); it reports dispatches as JSON lines on a
dedicated pipe and is fed its start request, then trigger events, on stdin.
"""

import json
import logging
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from apps.core.processes import child_popen_kwargs
from apps.datastore.tokens import sensor_token
from apps.sensors.services import SensorLaunch

logger = logging.getLogger(__name__)

SDK_DIR = Path(__file__).resolve().parent.parent / "sdk"
BASE_VARIABLES = ("PATH", "LANG", "LC_ALL", "TZ")
READ_CHUNK = 65536
LINE_MAX_BYTES = 1024 * 1024  # a longer dispatch line is dropped, not buffered forever
TAIL_MAX_BYTES = 4000  # of stderr, kept as the last error when the sensor crashes


@dataclass
class SensorProcess:
    """A running sensor and what has been read from it so far."""

    launch: SensorLaunch
    process: subprocess.Popen
    pidfd: int
    streams: dict  # fd -> stream name ("dispatch", "stdout", "stderr")
    is_respawn: bool
    started_at: float = field(default_factory=time.monotonic)
    partial: dict = field(default_factory=dict)  # stream name -> bytes of an unfinished line
    stderr_tail: bytearray = field(default_factory=bytearray)
    triggers: dict = field(default_factory=dict)  # key -> trigger sent to the sensor
    kill_at: float | None = None  # set once asked to stop

    @property
    def ref(self) -> str:
        return self.launch.ref

    @property
    def is_stopping(self) -> bool:
        return self.kill_at is not None

    def read(self, fd: int) -> list[bytes] | None:
        """Read what is available on `fd`; return the complete lines, or None at EOF."""
        name = self.streams[fd]
        try:
            chunk = os.read(fd, READ_CHUNK)
        except BlockingIOError:
            return []
        if not chunk:
            rest = self.partial.pop(name, b"")
            return [rest] if rest else None
        if name == "stderr":
            self.stderr_tail += chunk
            del self.stderr_tail[:-TAIL_MAX_BYTES]
        data = self.partial.pop(name, b"") + chunk
        *lines, rest = data.split(b"\n")
        if len(rest) > LINE_MAX_BYTES:
            logger.warning("sensor=%s %s line over %s bytes dropped", self.ref, name, len(rest))
            rest = b""
        self.partial[name] = rest
        return lines

    def send_event(self, event: str, trigger: dict) -> None:
        """Tell the sensor about a trigger (add, update, remove); a dead sensor is ignored."""
        line = json.dumps({"event": event, "trigger": trigger}).encode() + b"\n"
        try:
            self.process.stdin.write(line)
            self.process.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass

    def stop(self, grace_seconds: float) -> None:
        """SIGTERM the sensor's process group; the container SIGKILLs it at `kill_at`."""
        if self.is_stopping:
            return
        self.kill_at = time.monotonic() + grace_seconds
        self.signal(signal.SIGTERM)

    def signal(self, signum: int) -> None:
        try:
            os.killpg(self.process.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def error_text(self) -> str:
        code = self.process.returncode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        tail = self.stderr_tail.decode("utf-8", errors="replace").strip()
        return f"sensor process ended ({how})" + (f":\n{tail}" if tail else "")

    def close(self) -> None:
        for fd in [self.pidfd, *self.streams]:
            try:
                os.close(fd)
            except OSError:
                pass
        if self.process.stdin and not self.process.stdin.closed:
            try:
                self.process.stdin.close()
            except OSError:
                pass


def spawn_sensor(
    launch: SensorLaunch, pack_dir: Path, python: str, triggers: dict, *, is_respawn: bool
) -> SensorProcess:
    """Start the sensor `launch` from the materialized pack at `pack_dir` with the pack's
    Python interpreter `python`."""
    request = {
        "sensor_ref": launch.ref,
        "pack_ref": launch.pack_ref,
        "entry_point": str(pack_dir / "sensors" / launch.entry_point),
        "class_name": launch.class_name,
        "poll_interval": launch.poll_interval,
        "config": {},
        "triggers": list(triggers.values()),
        # On stdin only, like everything secret: a token for the datastore API.
        "datastore": {"url": settings.ATTUNE_API_URL, "token": sensor_token(launch.ref)},
    }
    dispatch_read, dispatch_write = os.pipe()
    try:
        process = subprocess.Popen(
            [python, "-m", "attune_sdk.sensor_wrapper"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=sensor_environment(launch, dispatch_write),
            cwd=pack_dir,
            pass_fds=(dispatch_write,),
            **child_popen_kwargs(),
        )
    except OSError:
        os.close(dispatch_read)
        raise
    finally:
        os.close(dispatch_write)
    streams = {
        dispatch_read: "dispatch",
        process.stdout.fileno(): "stdout",
        process.stderr.fileno(): "stderr",
    }
    for fd in streams:
        os.set_blocking(fd, False)
    child = SensorProcess(
        launch, process, os.pidfd_open(process.pid), streams, is_respawn, triggers=dict(triggers)
    )
    try:
        process.stdin.write(json.dumps(request).encode() + b"\n")
        process.stdin.flush()
    except (BrokenPipeError, OSError):
        pass  # it died at once; its exit is noticed like any other
    return child


def sensor_environment(launch: SensorLaunch, dispatch_fd: int) -> dict:
    env = {name: os.environ[name] for name in BASE_VARIABLES if name in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.update(
        {
            "HOME": tempfile.gettempdir(),
            "PYTHONPATH": str(SDK_DIR),
            "PYTHONUNBUFFERED": "1",
            "ATTUNE_DISPATCH_FD": str(dispatch_fd),
            "ATTUNE_SENSOR_REF": launch.ref,
        }
    )
    return env
