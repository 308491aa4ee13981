"""Register packs from directories: each argument is a pack, or a folder of packs."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.core.exceptions import AttuneError
from apps.packs.services import register_pack, register_packs_dir


class Command(BaseCommand):
    help = "Register packs from directories (default: ATTUNE_PACKS_DIR)."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="*", type=Path)

    def handle(self, *args, paths, **options):
        for path in paths or [settings.ATTUNE_PACKS_DIR]:
            try:
                if (path / "pack.yaml").is_file():
                    packs = [register_pack(path)]
                else:
                    packs = register_packs_dir(path)
            except (AttuneError, OSError) as exc:
                raise CommandError(str(getattr(exc, "detail", exc))) from exc
            for pack in packs:
                self.stdout.write(f"registered {pack.ref} ({pack.actions.count()} actions)")
