"""`local-shell-cmd`: plain commands run without bash, and every command behaves as in bash."""

import pytest

from workers.runners.base import Limits, RunRequest
from workers.runners.shell import LocalShellCommandRunner, command_argv

LIMITS = Limits(output_max_bytes=10_000, result_max_bytes=10_000, kill_grace_seconds=0.5)
ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin"}


def run(cmd: str, control, **runner_parameters) -> dict:
    request = RunRequest(
        execution_id=1,
        action_ref="core.local",
        runner_type="local-shell-cmd",
        parameters={},
        runner_parameters={"cmd": cmd, "timeout": 10, **runner_parameters},
        secret_parameters=frozenset(),
        limits=LIMITS,
    )
    return LocalShellCommandRunner().run(request, control).result


@pytest.mark.parametrize("cmd", ["true", "uname -s", "ls -d /tmp", "sleep 0"])
def test_a_plain_command_runs_its_program_without_bash(cmd):
    assert command_argv(cmd, ENV) == cmd.split()


@pytest.mark.parametrize(
    "cmd",
    [
        "echo hi",  # a builtin whose program differs (`/bin/echo --help`)
        "cd /tmp",
        "ls | wc -l",
        "ls > /dev/null",
        "echo $HOME",
        "ls *.py",
        "ls 'a b'",
        "FOO=1 env",
        "true && false",
        "ls ~",
        "./script.sh",
        "no-such-program-here",
        "",
    ],
)
def test_anything_bash_would_interpret_goes_through_bash(cmd):
    assert command_argv(cmd, ENV)[1:] == ["-c", cmd]


def test_plain_and_shell_commands_give_the_same_results(control):
    direct = run("uname -s", control)
    through_bash = run("uname -s | cat", control)

    assert direct["stdout"] == through_bash["stdout"] != ""
    assert direct["succeeded"] and through_bash["succeeded"]


def test_false_fails_with_exit_code_1(control):
    result = run("false", control)

    assert (result["failed"], result["return_code"]) == (True, 1)


def test_an_unknown_program_fails_as_in_bash(control):
    result = run("no-such-program-here --flag", control)

    assert result["return_code"] == 127
    assert "command not found" in result["stderr"]


def test_a_program_is_found_on_the_path_the_action_sets(control, tmp_path):
    program = tmp_path / "hello-attune"
    program.write_text("#!/bin/sh\necho from the action path\n")
    program.chmod(0o755)

    result = run("hello-attune", control, env={"PATH": f"{tmp_path}:/usr/bin:/bin"})

    assert result["stdout"].strip() == "from the action path"
