"""`manage.py load_rbac <dir>`: load StackStorm-format `roles/*.yaml` and `assignments/*.yaml`."""

from pathlib import Path

import yaml
from django.core.management.base import BaseCommand, CommandError

from apps.core.exceptions import AttuneError
from apps.rbac.services import load_rbac
from apps.rbac.specs import parse_assignment, parse_role


class Command(BaseCommand):
    help = "Load RBAC roles and assignments from <dir>/roles/*.yaml and <dir>/assignments/*.yaml."

    def add_arguments(self, parser):
        parser.add_argument("directory")

    def handle(self, *args, directory, **options):
        root = Path(directory)
        if not root.is_dir():
            raise CommandError(f"{root} is not a directory")
        roles = parsed(files(root, "roles"), parse_role)
        assignments = parsed(files(root, "assignments") + files(root, "mappings"), parse_assignment)
        try:
            counts = load_rbac(roles, assignments)
        except AttuneError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"loaded {counts['roles']} roles, {counts['assignments']} assignments")


def files(root: Path, folder: str) -> list[Path]:
    return sorted([*root.glob(f"{folder}/*.yaml"), *root.glob(f"{folder}/*.yml")])


def parsed(paths: list[Path], parse) -> dict:
    """Each file's spec by file name; the first bad file stops the load, named."""
    specs = {}
    for path in paths:
        try:
            specs[str(path)] = parse(read(path))
        except AttuneError as exc:
            raise CommandError(f"{path}: {exc}") from exc
    return specs


def read(path: Path):
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise CommandError(f"{path}: cannot read: {exc}") from exc
