"""Run one action process under supervision: stream its output within caps, feed its stdin,
send heartbeats, and stop it on timeout or cancel (SIGTERM, grace period, SIGKILL).

One selector waits on everything at once — the output pipes, the optional result pipe, the
process's pidfd and the cancel pipe — so nothing here polls.
"""

import os
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass, field

from workers.runners.base import Limits, RunControl

READ_CHUNK = 65536
# After the main process exits, how long its leftover children may keep the pipes open.
DRAIN_AFTER_EXIT_SECONDS = 1.0
# After SIGKILL, how long to wait for the pipes to close before giving up on them.
DRAIN_AFTER_KILL_SECONDS = 2.0
TRUNCATION_MARKER = "\n[... output truncated by Attune: {omitted} more bytes not kept ...]\n"


class CappedBuffer:
    """Keep at most `limit` bytes of a stream, counting what was dropped."""

    def __init__(self, limit: int):
        self.limit = limit
        self.data = bytearray()
        self.total = 0

    def append(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.limit - len(self.data)
        if room > 0:
            self.data += chunk[:room]

    @property
    def is_truncated(self) -> bool:
        return self.total > len(self.data)

    def text(self) -> str:
        """Decode as UTF-8 (invalid bytes replaced, NULs dropped) with a marker if truncated."""
        text = self.data.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
        if self.is_truncated:
            text += TRUNCATION_MARKER.format(omitted=self.total - len(self.data))
        return text


@dataclass
class ProcessOutcome:
    exit_code: int | None
    stdout: CappedBuffer
    stderr: CappedBuffer
    result: CappedBuffer | None
    ended_by: str  # "exit", "timeout" or "cancel"


@dataclass
class Supervision:
    """Mutable state of one supervised process."""

    process: subprocess.Popen
    control: RunControl
    selector: selectors.DefaultSelector
    buffers: dict
    stdin_data: memoryview
    deadline: float | None
    next_heartbeat: float
    kill_at: float | None = None
    give_up_at: float | None = None
    ended_by: str = "exit"
    open_streams: set = field(default_factory=set)


def run_process(
    argv: list[str],
    *,
    env: dict,
    cwd: str,
    stdin_data: bytes,
    timeout: float | None,
    control: RunControl,
    limits: Limits,
    with_result_pipe: bool = False,
) -> ProcessOutcome:
    """Run `argv` to completion (or timeout/cancel) and return what it produced."""
    result_read, result_write = os.pipe() if with_result_pipe else (None, None)
    if with_result_pipe:
        env = {**env, "ATTUNE_RESULT_FD": str(result_write)}
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
            start_new_session=True,  # its own process group, so we can stop all it started
            pass_fds=(result_write,) if with_result_pipe else (),
        )
    finally:
        if result_write is not None:
            os.close(result_write)
    state = start_supervision(process, result_read, stdin_data, timeout, control, limits)
    try:
        supervise(state, control, limits)
    finally:
        state.selector.close()
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream and not stream.closed:
                stream.close()
        if result_read is not None:
            os.close(result_read)
    return ProcessOutcome(
        exit_code=process.wait(),
        stdout=state.buffers["stdout"],
        stderr=state.buffers["stderr"],
        result=state.buffers.get("result"),
        ended_by=state.ended_by,
    )


def start_supervision(process, result_read, stdin_data, timeout, control, limits) -> Supervision:
    selector = selectors.DefaultSelector()
    buffers = {
        "stdout": CappedBuffer(limits.output_max_bytes),
        "stderr": CappedBuffer(limits.output_max_bytes),
    }
    streams = {"stdout": process.stdout.fileno(), "stderr": process.stderr.fileno()}
    if result_read is not None:
        buffers["result"] = CappedBuffer(limits.result_max_bytes)
        streams["result"] = result_read
    for name, fd in streams.items():
        os.set_blocking(fd, False)
        selector.register(fd, selectors.EVENT_READ, name)
    selector.register(os.pidfd_open(process.pid), selectors.EVENT_READ, "exited")
    selector.register(control.cancel_fd, selectors.EVENT_READ, "cancel")
    if stdin_data:
        os.set_blocking(process.stdin.fileno(), False)
        selector.register(process.stdin.fileno(), selectors.EVENT_WRITE, "stdin")
    else:
        process.stdin.close()
    now = time.monotonic()
    return Supervision(
        process=process,
        control=control,
        selector=selector,
        buffers=buffers,
        stdin_data=memoryview(stdin_data),
        deadline=now + timeout if timeout else None,
        next_heartbeat=now + control.heartbeat_seconds,
        open_streams=set(streams),
    )


def supervise(state: Supervision, control: RunControl, limits: Limits) -> None:
    """Loop until every output stream is closed (or given up on after a kill)."""
    while state.open_streams:
        now = time.monotonic()
        if state.give_up_at is not None and now >= state.give_up_at:
            return
        handle_deadlines(state, control, limits, now)
        for key, _ in state.selector.select(wait_seconds(state, time.monotonic())):
            handle_event(state, key, limits)


def wait_seconds(state: Supervision, now: float) -> float:
    moments = [state.next_heartbeat, state.deadline, state.kill_at, state.give_up_at]
    return max(0.0, min(m for m in moments if m is not None) - now)


def handle_deadlines(state: Supervision, control: RunControl, limits: Limits, now: float) -> None:
    if now >= state.next_heartbeat:
        control.heartbeat()
        state.next_heartbeat = now + control.heartbeat_seconds
    if state.deadline is not None and now >= state.deadline:
        state.deadline = None
        stop(state, "timeout", limits)
    if state.kill_at is not None and now >= state.kill_at:
        state.kill_at = None
        signal_group(state.process, signal.SIGKILL)
        state.give_up_at = now + DRAIN_AFTER_KILL_SECONDS


def handle_event(state: Supervision, key: selectors.SelectorKey, limits: Limits) -> None:
    name = key.data
    if name == "stdin":
        write_stdin(state, key.fd)
    elif name == "cancel":
        state.selector.unregister(key.fd)
        state.deadline = None
        stop(state, "cancel", limits)
    elif name == "exited":
        state.selector.unregister(key.fd)
        os.close(key.fd)
        # Children left running in the background must not hold the action open forever.
        state.kill_at = min(
            state.kill_at or float("inf"), time.monotonic() + DRAIN_AFTER_EXIT_SECONDS
        )
    else:
        read_stream(state, key.fd, name)


def read_stream(state: Supervision, fd: int, name: str) -> None:
    try:
        chunk = os.read(fd, READ_CHUNK)
    except BlockingIOError:
        return
    if chunk:
        state.buffers[name].append(chunk)
        if name != "result":
            state.control.output(name, chunk)
        return
    state.selector.unregister(fd)
    state.open_streams.discard(name)


def write_stdin(state: Supervision, fd: int) -> None:
    try:
        written = os.write(fd, state.stdin_data[:READ_CHUNK])
    except (BrokenPipeError, OSError):
        written = len(state.stdin_data)
    state.stdin_data = state.stdin_data[written:]
    if not state.stdin_data:
        state.selector.unregister(fd)
        state.process.stdin.close()


def stop(state: Supervision, reason: str, limits: Limits) -> None:
    """Ask the process group to stop (SIGTERM); SIGKILL follows after the grace period."""
    if state.ended_by != "exit":
        return
    state.ended_by = reason
    signal_group(state.process, signal.SIGTERM)
    state.kill_at = time.monotonic() + limits.kill_grace_seconds


def signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass
