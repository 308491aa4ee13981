"""Shell runners: `local-shell-cmd` (a command line) and `local-shell-script` (a pack script)."""

import json
import os
import re
import shutil

from workers.runners.base import RunControl, Runner, RunRequest, RunResult, register
from workers.runners.environment import (
    action_environment,
    secrets_stdin,
    shell,
    working_directory,
)
from workers.runners.outcome import status_of
from workers.runners.process import run_process

# A command of plain words only: no quotes, variables, globs, redirections, operators, comments.
PLAIN_COMMAND = re.compile(r"[\w@%+,./:=-]+(?:[ \t]+[\w@%+,./:=-]+)*")
# Words bash runs itself (`compgen -b -k`): such commands keep going through bash. `true` and
# `false` are left out: their programs behave exactly like the builtins.
BASH_OWN_WORDS = frozenset(
    ". : [ alias bg bind break builtin caller cd command compgen complete compopt continue "
    "declare dirs disown echo enable eval exec exit export fc fg getopts hash help history jobs "
    "kill let local logout mapfile popd printf pushd pwd read readarray readonly return set "
    "shift shopt source suspend test times trap type typeset ulimit umask unalias unset wait if "
    "then else elif fi case esac for select while until do done in function time { } ! [[ ]] "
    "coproc".split()
)


def command_argv(cmd: str, env: dict) -> list[str]:
    """The argv that runs `cmd` as bash would.

    A command of plain words naming a program on the action's PATH is executed directly (bash
    would only parse it and exec the same program; starting bash costs more than `true`);
    anything else, including an unknown program (bash's exit 127 and message), goes through
    `bash -c`.
    """
    words = cmd.split()
    if (
        PLAIN_COMMAND.fullmatch(cmd.strip())
        and words[0] not in BASH_OWN_WORDS
        and "=" not in words[0]  # `NAME=value command` sets a variable
        and "/" not in words[0]  # a path: relative to the action's directory, leave it to bash
        and shutil.which(words[0], path=env.get("PATH"))
    ):
        return words
    return [shell(), "-c", cmd]


def run_shell(
    argv: list[str], request: RunRequest, control: RunControl, env: dict | None = None
) -> RunResult:
    outcome = run_process(
        argv,
        env=env or action_environment(request),
        cwd=working_directory(request),
        stdin_data=secrets_stdin(request),
        timeout=request.timeout,
        control=control,
        limits=request.limits,
    )
    status, error = status_of(outcome, request.timeout)
    stdout, stderr = outcome.stdout.text(), outcome.stderr.text()
    result = {
        "succeeded": outcome.exit_code == 0 and outcome.ended_by == "exit",
        "failed": not (outcome.exit_code == 0 and outcome.ended_by == "exit"),
        "return_code": outcome.exit_code,
        "stdout": stdout,
        "stderr": stderr,
    }
    return RunResult(status, result, stdout, stderr, outcome.exit_code, error)


@register
class LocalShellCommandRunner(Runner):
    """Run `cmd` through bash on the worker (plain commands without it, see `command_argv`)."""

    name = "local-shell-cmd"

    def run(self, request: RunRequest, control: RunControl) -> RunResult:
        env = action_environment(request)
        argv = command_argv(request.runner_parameters["cmd"], env)
        return run_shell(argv, request, control, env)


@register
class LocalShellScriptRunner(Runner):
    """Run the pack's script with parameters as arguments (positional by `position`, else
    `--name=value`); secret parameters are left out of argv and sent on stdin instead."""

    name = "local-shell-script"
    needs_pack = True

    def run(self, request: RunRequest, control: RunControl) -> RunResult:
        script = str(request.entry_point)
        command = [script] if os.access(script, os.X_OK) else [shell(), script]
        return run_shell(command + script_arguments(request), request, control)


def script_arguments(request: RunRequest) -> list[str]:
    values = request.non_secrets()
    positions = request.positions
    positional = sorted((p, name) for name, p in positions.items() if name in values)
    arguments = [as_argument(values[name]) for _, name in positional]
    kwarg_op = request.runner_parameters.get("kwarg_op", "--")
    for name in sorted(values):
        if name not in positions and values[name] is not None:
            arguments.append(f"{kwarg_op}{name}={as_argument(values[name])}")
    return arguments


def as_argument(value) -> str:
    """StackStorm's conversion: lists joined by commas, objects as JSON, the rest as str."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(as_argument(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)
