"""Supervised processes: output caps, stdin, timeouts, cancellation and heartbeats.

These run real subprocesses (bash, cat, sleep); no database or broker is involved.
"""

import hashlib
import os
import threading
from pathlib import Path

from tests.unit.runners.conftest import FakeControl
from workers.runners.base import Limits
from workers.runners.process import TRUNCATION_MARKER, CappedBuffer, run_process

MB = 1024 * 1024

LIMITS = Limits(output_max_bytes=2 * MB, result_max_bytes=MB, kill_grace_seconds=0.5)


def bash(script: str, control: FakeControl, tmp_path: Path, **options):
    """Run `script` with bash under supervision and return the outcome."""
    arguments = {
        "env": {"PATH": os.environ["PATH"]},
        "cwd": str(tmp_path),
        "stdin_data": b"",
        "timeout": None,
        "control": control,
        "limits": LIMITS,
    }
    return run_process(["bash", "-c", script], **{**arguments, **options})


def cancel_when_file_appears(path: Path, control: FakeControl) -> threading.Thread:
    """Cancel as soon as the process signals (by creating `path`) that it is ready."""

    def wait_then_cancel():
        while not path.exists():
            threading.Event().wait(0.02)
        control.cancel()

    thread = threading.Thread(target=wait_then_cancel, daemon=True)
    thread.start()
    return thread


# --- CappedBuffer -------------------------------------------------------------------------


def test_capped_buffer_keeps_everything_below_its_limit():
    buffer = CappedBuffer(10)
    buffer.append(b"hello")
    buffer.append(b"world")

    assert buffer.text() == "helloworld"
    assert not buffer.is_truncated
    assert buffer.total == 10


def test_capped_buffer_keeps_the_first_bytes_and_counts_the_rest():
    buffer = CappedBuffer(4)
    buffer.append(b"abc")
    buffer.append(b"defgh")
    buffer.append(b"ij")

    assert bytes(buffer.data) == b"abcd"
    assert buffer.total == 10
    assert buffer.is_truncated
    assert buffer.text() == "abcd" + TRUNCATION_MARKER.format(omitted=6)


def test_capped_buffer_marker_says_how_many_bytes_were_dropped():
    buffer = CappedBuffer(3)
    buffer.append(b"x" * 1003)

    assert "1000 more bytes not kept" in buffer.text()


def test_capped_buffer_replaces_invalid_utf8_and_nul_bytes():
    buffer = CappedBuffer(100)
    buffer.append(b"caf\xc3\xa9 \xff\xfe bad \x00 nul")

    text = buffer.text()

    assert text.startswith("café ")
    assert "\x00" not in text
    assert "\ufffd" in text
    assert text.endswith(" nul")


def test_capped_buffer_cut_inside_a_multibyte_character_still_decodes():
    buffer = CappedBuffer(4)
    buffer.append("caféé".encode())

    assert buffer.text().startswith("caf\ufffd")


# --- run_process: exit, output, stdin ------------------------------------------------------


def test_exit_code_and_separate_streams_are_captured(control, tmp_path):
    outcome = bash("echo to-out; echo to-err >&2; exit 3", control, tmp_path)

    assert outcome.exit_code == 3
    assert outcome.ended_by == "exit"
    assert outcome.stdout.text() == "to-out\n"
    assert outcome.stderr.text() == "to-err\n"
    assert outcome.result is None


def test_the_process_gets_the_given_environment_and_directory(control, tmp_path):
    env = {"PATH": os.environ["PATH"], "GREETING": "hi there"}

    outcome = bash('echo "$GREETING"; pwd; echo "${HOME:-no home}"', control, tmp_path, env=env)

    assert outcome.stdout.text().splitlines() == ["hi there", str(tmp_path), "no home"]


def test_output_beyond_the_cap_is_truncated_while_the_process_completes(control, tmp_path):
    limits = Limits(output_max_bytes=MB, result_max_bytes=MB, kill_grace_seconds=0.5)
    script = "head -c 5242880 /dev/zero | tr '\\0' x; echo finished >&2; exit 0"

    outcome = bash(script, control, tmp_path, limits=limits)

    assert outcome.exit_code == 0
    assert outcome.ended_by == "exit"
    assert outcome.stdout.total == 5 * MB
    assert len(outcome.stdout.data) == MB
    assert outcome.stdout.text() == "x" * MB + TRUNCATION_MARKER.format(omitted=4 * MB)
    assert outcome.stderr.text() == "finished\n"


def test_invalid_utf8_output_is_decoded_safely(control, tmp_path):
    outcome = bash(r"printf 'ok\377\000end'", control, tmp_path)

    assert outcome.exit_code == 0
    assert outcome.stdout.text() == "ok\ufffd\ufffdend"


def test_stdin_data_is_delivered(control, tmp_path):
    outcome = bash("cat", control, tmp_path, stdin_data=b"hello from stdin")

    assert outcome.stdout.text() == "hello from stdin"


def test_without_stdin_data_the_process_reads_end_of_file(control, tmp_path):
    outcome = bash("cat; echo eof", control, tmp_path)

    assert outcome.stdout.text() == "eof\n"


def test_large_stdin_is_delivered_while_output_is_read(control, tmp_path):
    data = os.urandom(MB)

    outcome = bash("cat", control, tmp_path, stdin_data=data)

    assert bytes(outcome.stdout.data) == data


def test_large_stdin_is_delivered_to_a_process_that_reads_it_all_first(control, tmp_path):
    data = os.urandom(MB)

    outcome = bash("sha256sum", control, tmp_path, stdin_data=data)

    assert outcome.stdout.text().split()[0] == hashlib.sha256(data).hexdigest()


def test_a_process_ignoring_its_stdin_still_finishes(control, tmp_path):
    outcome = bash("echo ignored", control, tmp_path, stdin_data=os.urandom(MB))

    assert outcome.exit_code == 0
    assert outcome.stdout.text() == "ignored\n"


def test_a_background_child_holding_stdout_does_not_keep_the_run_open(control, tmp_path):
    outcome = bash("(sleep 30; echo too-late) & echo done", control, tmp_path)

    assert outcome.exit_code == 0
    assert outcome.ended_by == "exit"
    assert outcome.stdout.text() == "done\n"


def test_the_result_pipe_carries_the_result_separately(control, tmp_path):
    script = 'echo printed; echo \'{"answer": 42}\' >&"$ATTUNE_RESULT_FD"'

    outcome = bash(script, control, tmp_path, with_result_pipe=True)

    assert outcome.stdout.text() == "printed\n"
    assert outcome.result.text() == '{"answer": 42}\n'


# --- run_process: timeout, cancel, heartbeats ----------------------------------------------


def test_a_process_past_its_timeout_is_stopped_with_sigterm(control, tmp_path):
    outcome = bash("sleep 30", control, tmp_path, timeout=0.5)

    assert outcome.ended_by == "timeout"
    assert outcome.exit_code == -15


def test_output_written_before_a_timeout_is_kept(control, tmp_path):
    outcome = bash("echo started; exec sleep 30", control, tmp_path, timeout=0.5)

    assert outcome.ended_by == "timeout"
    assert outcome.stdout.text() == "started\n"


def test_a_process_ignoring_sigterm_is_killed_after_the_grace_period(control, tmp_path):
    ready = tmp_path / "ready"
    cancel_when_file_appears(ready, control)

    outcome = bash(f"trap '' TERM; touch {ready}; sleep 30; echo survived", control, tmp_path)

    assert outcome.ended_by == "cancel"
    assert outcome.exit_code == -9
    assert "survived" not in outcome.stdout.text()


def test_a_process_ignoring_sigterm_is_killed_after_its_timeout(control, tmp_path):
    outcome = bash("trap '' TERM; sleep 30; echo survived", control, tmp_path, timeout=2)

    assert outcome.ended_by == "timeout"
    assert outcome.exit_code == -9


def test_writing_to_the_cancel_pipe_stops_the_process(control, tmp_path):
    ready = tmp_path / "ready"
    cancel_when_file_appears(ready, control)

    outcome = bash(f"echo working; touch {ready}; sleep 30; echo finished", control, tmp_path)

    assert outcome.ended_by == "cancel"
    assert outcome.exit_code == -15
    assert outcome.stdout.text() == "working\n"


def test_a_cancel_before_the_process_starts_stops_it(control, tmp_path):
    control.cancel()

    outcome = bash("sleep 30", control, tmp_path, timeout=60)

    assert outcome.ended_by == "cancel"
    assert outcome.exit_code == -15


def test_cancel_stops_the_processes_the_action_started_too(control, tmp_path):
    ready = tmp_path / "ready"
    cancel_when_file_appears(ready, control)

    outcome = bash(f"(sleep 30; echo child-survived) & touch {ready}; wait", control, tmp_path)

    assert outcome.ended_by == "cancel"
    assert "child-survived" not in outcome.stdout.text()


def test_heartbeats_are_sent_while_the_process_runs(tmp_path):
    control = FakeControl(heartbeat_seconds=1)
    try:
        outcome = bash("sleep 2.5", control, tmp_path)
    finally:
        control.close()

    assert outcome.exit_code == 0
    assert control.heartbeats >= 1
