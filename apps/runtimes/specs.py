"""What a pack's dependency environments are made of, read from its files (no Django imports).

An environment is identified by the SHA-256 of everything that goes into it, so two packs with
the same dependencies share one, and a pack's environment is rebuilt only when they change.
"""

import hashlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

PYTHON_RUNNERS = frozenset({"python-script"})
NODEJS_FILES = ("package.json", "package-lock.json")
# The project name at the start of a requirement line (PEP 508), e.g. `requests` in
# `requests[socks]>=2.0; python_version > "3"`.
PROJECT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


class SpecInvalid(ValueError):
    """A dependency file cannot be used; `file` names it."""

    def __init__(self, file: str, message: str):
        super().__init__(f"{file}: {message}")
        self.file = file
        self.message = message


@dataclass(frozen=True)
class EnvironmentSpec:
    """The inputs of one environment: its kind and the dependency files (name -> text)."""

    kind: str
    files: dict
    defaults: tuple = ()  # Python only: the default set installed into every virtualenv

    @property
    def sha256(self) -> str:
        identity = {"kind": self.kind, "files": self.files, "defaults": list(self.defaults)}
        if self.kind == "python":
            identity["python"] = f"{sys.version_info.major}.{sys.version_info.minor}"
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()

    @property
    def requirements(self) -> str:
        return self.files.get("requirements.txt", "")


def python_spec(pack_dir: Path, defaults) -> EnvironmentSpec:
    """The pack's requirements.txt (empty when it has none) plus the default set, less the
    projects the pack declares itself (its own pin wins)."""
    path = Path(pack_dir) / "requirements.txt"
    text = read_text(path) if path.is_file() else ""
    defaults = defaults_not_declared(text, defaults)
    return EnvironmentSpec("python", {"requirements.txt": text}, defaults)


def project_name(requirement: str) -> str | None:
    """The normalized project name a requirement line names (None for options, comments)."""
    match = PROJECT_NAME.match(requirement)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else None


def defaults_not_declared(requirements: str, defaults) -> tuple:
    """The default packages whose project the requirements do not name."""
    declared = {project_name(line) for line in requirements.splitlines()} - {None}
    return tuple(d for d in defaults if project_name(d) not in declared)


def nodejs_spec(pack_dir: Path) -> EnvironmentSpec:
    """The pack's package.json and, when present, its package-lock.json."""
    files = {}
    for name in NODEJS_FILES:
        path = Path(pack_dir) / name
        if path.is_file():
            files[name] = read_text(path)
            try:
                is_object = isinstance(json.loads(files[name]), dict)
            except ValueError:
                is_object = False
            if not is_object:
                raise SpecInvalid(name, "must be a JSON object")
    return EnvironmentSpec("nodejs", files)


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SpecInvalid(path.name, "is not UTF-8 text") from exc


def needed_specs(
    pack_dir: Path, runner_types, has_sensors: bool, defaults
) -> list[EnvironmentSpec]:
    """The environments a pack needs: a virtualenv for Python actions or sensors, and
    node_modules when it has a package.json (Node.js actions without one need nothing)."""
    specs = []
    if set(runner_types) & PYTHON_RUNNERS or has_sensors:
        specs.append(python_spec(pack_dir, defaults))
    if (Path(pack_dir) / "package.json").is_file():
        specs.append(nodejs_spec(pack_dir))
    return specs
