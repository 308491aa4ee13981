"""Output limits: big, long, binary and separate stdout/stderr (T3.21)."""

import pytest

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024


def test_five_megabytes_of_stdout_are_truncated_at_the_cap_with_a_marker(alice_api):
    cmd = "head -c 5242880 /dev/zero | tr '\\0' 'a'; echo to-stderr >&2"
    execution = alice_api.run_and_wait("core.local", cmd=cmd)

    assert execution["status"] == "succeeded"
    stdout = execution["stdout"]
    assert stdout.startswith("a" * MIB)
    assert "output truncated by Attune: 4194304 more bytes not kept" in stdout
    assert len(stdout) < MIB + 200
    assert execution["stderr"] == "to-stderr\n"


def test_ten_thousand_lines_are_kept_whole_and_in_order(alice_api):
    execution = alice_api.run_and_wait("core.local", cmd="seq 1 10000")

    assert execution["stdout"].splitlines() == [str(n) for n in range(1, 10001)]


def test_binary_output_is_stored_readably_and_breaks_nothing(alice_api):
    execution = alice_api.run_and_wait(
        "core.local", cmd="head -c 4096 /dev/urandom; printf '\\000\\377 tail'"
    )

    assert execution["status"] == "succeeded"
    assert execution["stdout"].endswith("\ufffd\ufffd tail")
    assert alice_api.run_and_wait("core.local", cmd="echo still fine")["stdout"] == "still fine\n"
