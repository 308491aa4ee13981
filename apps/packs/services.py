"""Register packs from a directory or an uploaded archive, all or nothing."""

import logging
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import transaction

from apps.actions.models import Action
from apps.audit.choices import AuditAction
from apps.audit.services import record_event
from apps.core.cache import bump_content_version
from apps.core.exceptions import InvalidInput, PayloadTooLarge
from apps.packs.archive import ArchiveInvalid, build_archive, extract_archive, find_pack_root
from apps.packs.loader import PackInvalid, PackSpec, load_pack
from apps.packs.models import Pack, PackContent
from apps.policies.services import sync_pack_policies
from apps.rules.services import sync_pack_rules, trigger_errors
from apps.runtimes.services import environment_specs, plan_environments
from apps.sensors.services import sync_pack_sensors
from apps.triggers.models import TriggerType

logger = logging.getLogger(__name__)


class PackRefused(InvalidInput):
    code = "invalid_pack"


def register_pack(path: Path, *, owner=None, source: str = "") -> Pack:
    """Register (or re-register) the pack at `path`: add, update and remove its actions,
    trigger types, sensors and rules, all or nothing."""
    path = Path(path)
    if not path.is_dir():
        raise PackRefused(f"{path} is not a directory")
    try:
        spec = load_pack(path)
        archive, sha256 = build_archive(path)
        runner_types = [action.runner_type for action in spec.actions]
        environments = environment_specs(path, runner_types, bool(spec.sensors))
        return save_registration(
            spec,
            archive,
            sha256,
            owner=owner,
            source=source or str(path),
            environments=environments,
        )
    except PackInvalid as exc:
        raise PackRefused(f"pack at {path} is invalid: {exc}", errors=exc.errors) from exc


def save_registration(
    spec: PackSpec, archive: bytes, sha256: str, *, owner, source: str, environments=()
) -> Pack:
    """Write the pack and everything in it, all or nothing; environments are built after the
    commit (see apps.runtimes.services)."""
    with transaction.atomic():
        is_new = not Pack.objects.filter(ref=spec.ref).exists()
        pack = save_pack(spec, archive, sha256, owner=owner, source=source)
        record_event(
            AuditAction.CREATE if is_new else AuditAction.CHANGE,
            "pack",
            pack.ref,
            actor=owner,
            detail={"content_sha256": sha256, "source": source[:500]},
        )
        sync_actions(pack, spec)
        sync_trigger_types(pack, spec)
        sync_pack_sensors(pack, spec.sensors)
        check_rules(pack, spec)
        sync_pack_rules(pack, spec.rules)
        sync_pack_policies(pack, spec.policies)
        plan_environments(pack, list(environments))
        bump_content_version()
    logger.info("registered pack=%s content=%s", pack.ref, sha256[:12])
    return pack


def register_pack_archive(data: bytes, *, owner=None, filename: str = "upload") -> Pack:
    """Register a pack uploaded as a .tar.gz."""
    limit = settings.ATTUNE_PACK_UPLOAD_MAX_BYTES
    if len(data) > limit:
        raise PayloadTooLarge(f"archive is {len(data)} bytes, the limit is {limit}")
    with tempfile.TemporaryDirectory(prefix="attune-upload-") as tmp:
        try:
            extract_archive(data, Path(tmp), max_bytes=limit * 10)
            root = find_pack_root(Path(tmp))
        except ArchiveInvalid as exc:
            raise PackRefused(f"{filename}: {exc}") from exc
        return register_pack(root, owner=owner, source=f"upload:{filename}")


def register_packs_dir(directory: Path, *, owner=None) -> list[Pack]:
    """Register every pack directly under `directory` (each holding a pack.yaml)."""
    roots = sorted(p for p in Path(directory).iterdir() if (p / "pack.yaml").is_file())
    return [register_pack(root, owner=owner) for root in roots]


def save_pack(spec: PackSpec, archive: bytes, sha256: str, *, owner, source: str) -> Pack:
    content, _ = PackContent.objects.get_or_create(
        sha256=sha256, defaults={"archive": archive, "size": len(archive)}
    )
    fields = {
        "name": spec.name,
        "version": spec.version,
        "description": spec.description,
        "author": spec.author,
        "email": spec.email,
        "metadata": spec.metadata,
        "is_system": spec.is_system,
        "content": content,
        "source": source[:500],
    }
    pack, created = Pack.objects.select_for_update().get_or_create(ref=spec.ref, defaults=fields)
    if created:
        pack.owner = owner
        pack.save(update_fields=["owner"])
        return pack
    for name, value in fields.items():
        setattr(pack, name, value)
    pack.save()
    return pack


def sync_actions(pack: Pack, spec: PackSpec) -> None:
    """Make the pack's actions exactly those in `spec`."""
    names = [action.name for action in spec.actions]
    pack.actions.exclude(name__in=names).delete()
    existing = {action.name: action for action in pack.actions.all()}
    for action_spec in spec.actions:
        action = existing.get(action_spec.name) or Action(pack=pack, name=action_spec.name)
        action.ref = f"{pack.ref}.{action_spec.name}"
        action.description = action_spec.description
        action.runner_type = action_spec.runner_type
        action.entry_point = action_spec.entry_point
        action.parameters = action_spec.parameters
        action.output_schema = action_spec.output_schema
        action.is_enabled = action_spec.is_enabled
        action.metadata_file = action_spec.metadata_file
        action.save()


def sync_trigger_types(pack: Pack, spec: PackSpec) -> None:
    """Make the pack's trigger types exactly those in its triggers/ folder and its sensors."""
    trigger_types = spec.all_trigger_types()
    names = [trigger_type.name for trigger_type in trigger_types]
    pack.trigger_types.exclude(name__in=names).delete()
    for trigger_type in trigger_types:
        TriggerType.objects.update_or_create(
            ref=f"{pack.ref}.{trigger_type.name}",
            defaults={
                "pack": pack,
                "name": trigger_type.name,
                "description": trigger_type.description,
                "payload_schema": trigger_type.payload_schema,
                "parameters_schema": trigger_type.parameters_schema,
                "is_builtin": False,
            },
        )


def check_rules(pack: Pack, spec: PackSpec) -> None:
    """Refuse the pack if a rule names an unknown trigger type or misfits its parameters."""
    errors = []
    for rule in spec.rules:
        errors += trigger_errors(rule, rule.metadata_file)
    if errors:
        raise PackInvalid(errors)
