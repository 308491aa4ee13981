"""Runner types: the parameters each runner understands (StackStorm's runner metadata).

This is data only; the code that runs each type lives in `workers/runners/`. An action's own
`parameters` may override a runner parameter's attributes (default, `immutable`), as in StackStorm.
"""

from dataclasses import dataclass, field

SHELL_TIMEOUT = 60
PYTHON_TIMEOUT = 600
HTTP_TIMEOUT = 60
CONTAINER_TIMEOUT = 300
HTTP_METHODS = ["HEAD", "GET", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH", "PURGE"]


@dataclass(frozen=True)
class RunnerType:
    name: str
    description: str
    needs_entry_point: bool
    parameters: dict = field(default_factory=dict)


INQUIRER_PARAMETERS = {
    "schema": {
        "type": "object",
        "description": "JSON schema of the answer (default: a boolean `continue`).",
    },
    "route": {
        "type": "string",
        "default": "",
        "description": "Free text for rules on core.st2.generic.inquiry, to route the question.",
    },
    "users": {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "description": "Usernames allowed to answer (with `roles`; both empty: anyone who can "
        "see the execution).",
    },
    "roles": {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "description": "RBAC roles whose holders may answer.",
    },
    "ttl": {
        "type": "number",
        "minimum": 0,
        "default": 1440,
        "description": "Minutes before the inquiry times out (fractions allowed); 0 never.",
    },
}


def timeout_parameter(default: int) -> dict:
    return {
        "type": "integer",
        "minimum": 1,
        "default": default,
        "description": "Seconds before the action is stopped and marked timeout.",
    }


SHELL_COMMON = {
    "cwd": {"type": "string", "description": "Working directory."},
    "env": {"type": "object", "description": "Extra environment variables (never secrets)."},
    "timeout": timeout_parameter(SHELL_TIMEOUT),
}

# `auth` and `cookies` are secret: masked in API output, and the runner masks their values in
# its result. Credentials in `headers` are not hidden, so put them in `auth`.
HTTP_PARAMETERS = {
    "url": {"type": "string", "required": True, "description": "URL to call."},
    "method": {"type": "string", "enum": HTTP_METHODS, "default": "GET"},
    "headers": {
        "type": "object",
        "additionalProperties": {"type": ["string", "number", "boolean"]},
        "description": "Request headers.",
    },
    "body": {
        "type": ["string", "object", "array"],
        "description": "Request body; an object or array is sent as JSON.",
    },
    "params": {"type": "object", "description": "Query string parameters."},
    "auth": {
        "type": "object",
        "secret": True,
        "properties": {
            "type": {"type": "string", "enum": ["basic", "bearer"]},
            "username": {"type": "string"},
            "password": {"type": "string"},
            "token": {"type": "string"},
        },
        # No JSON Schema `required` here: in a parameter spec `required` is StackStorm's flag.
        "description": '{"type": "basic", "username", "password"} or {"type": "bearer", "token"}.',
    },
    "cookies": {"type": "object", "secret": True, "description": "Cookies to send."},
    "timeout": {
        "type": "number",
        "exclusiveMinimum": 0,
        "default": HTTP_TIMEOUT,
        "description": "Seconds before the call is abandoned and the action marked timeout.",
    },
    "verify_ssl": {"type": "boolean", "default": True, "description": "Verify TLS certificates."},
    "allow_redirects": {"type": "boolean", "default": True, "description": "Follow redirects."},
}

# The action names an image and a command; each run gets a fresh container, removed afterwards.
CONTAINER_PARAMETERS = {
    "image": {"type": "string", "required": True, "description": "Image to run."},
    "command": {
        "type": ["array", "string"],
        "items": {"type": "string"},
        "description": "Command (argv list, or a string split like a shell); else the image's.",
    },
    "network": {
        "type": "boolean",
        "default": False,
        "description": "Give the container a network; without it, only loopback.",
    },
    "cpus": {"type": "number", "exclusiveMinimum": 0, "default": 1, "description": "CPU cap."},
    "memory_mb": {"type": "integer", "minimum": 6, "default": 256, "description": "Memory cap."},
    "pids_limit": {"type": "integer", "minimum": 1, "default": 256, "description": "Processes."},
    "pull": {
        "type": "string",
        "enum": ["missing", "never", "always"],
        "default": "missing",
        "description": "When to pull the image from its registry.",
    },
    "env": SHELL_COMMON["env"],
    "timeout": timeout_parameter(CONTAINER_TIMEOUT),
}

RUNNER_TYPES = {
    runner.name: runner
    for runner in [
        RunnerType(
            name="local-shell-cmd",
            description="Run a shell command on the worker.",
            needs_entry_point=False,
            parameters={
                "cmd": {"type": "string", "required": True, "description": "Command to run."},
                **SHELL_COMMON,
            },
        ),
        RunnerType(
            name="local-shell-script",
            description="Run a script from the pack with the parameters as arguments.",
            needs_entry_point=True,
            parameters={
                "kwarg_op": {"type": "string", "default": "--", "description": "Named-arg prefix."},
                **SHELL_COMMON,
            },
        ),
        RunnerType(
            name="python-script",
            description="Run the pack's Action subclass in its own Python process.",
            needs_entry_point=True,
            parameters={
                "env": SHELL_COMMON["env"],
                "timeout": timeout_parameter(PYTHON_TIMEOUT),
            },
        ),
        RunnerType(
            name="http-request",
            description="Make an HTTP request; 2xx and 3xx succeed, 4xx and 5xx fail.",
            needs_entry_point=False,
            parameters=HTTP_PARAMETERS,
        ),
        RunnerType(
            name="nodejs",
            description="Run the pack's Node.js script: parameters as JSON on stdin, result as "
            "JSON on stdout, modules from the pack's package.json.",
            needs_entry_point=True,
            parameters={"env": SHELL_COMMON["env"], "timeout": timeout_parameter(SHELL_TIMEOUT)},
        ),
        RunnerType(
            name="container",
            description="Run a command in a fresh container: parameters as JSON on stdin, no "
            "network unless allowed, CPU, memory and time limits.",
            needs_entry_point=False,
            parameters=CONTAINER_PARAMETERS,
        ),
        RunnerType(name="noop", description="Do nothing and succeed.", needs_entry_point=False),
        RunnerType(
            name="inquirer",
            description="Ask people a question (an inquiry) and wait for the answer; a workflow "
            "pauses meanwhile.",
            needs_entry_point=False,
            parameters=INQUIRER_PARAMETERS,
        ),
        RunnerType(
            name="orquesta",
            description="Run the Orquesta workflow in the entry point; its tasks are child "
            "executions.",
            needs_entry_point=True,
        ),
    ]
}
