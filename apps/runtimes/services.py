"""Plan, record and look up pack environments.

Registration records which environments a pack needs and queues their build for after the
commit: building takes seconds to minutes, so it never runs inside the registration request or
its transaction. The API answers at once with the environment `building`; a worker builds it
(task `attune.build_pack_environment`) and records `ready` or `failed` with pip's or npm's
message. Any worker that runs the pack's code first makes sure the environment exists on its own
disk (building it if needed), so executions requested meanwhile wait for it rather than running
without their dependencies.
"""

import logging
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from apps.core.services import enqueue_on_commit
from apps.packs.loader import PackInvalid
from apps.runtimes.choices import EnvironmentStatus
from apps.runtimes.models import PackEnvironment
from apps.runtimes.specs import (
    EnvironmentSpec,
    SpecInvalid,
    needed_specs,
    nodejs_spec,
    python_spec,
)

logger = logging.getLogger(__name__)

BUILD_TASK = "attune.build_pack_environment"
LOG_MAX_CHARS = 10000


def plan_environments(pack, specs: list[EnvironmentSpec]) -> None:
    """Record the environments `pack` now needs and queue the builds of new ones.

    Call inside the registration transaction. An environment already built is not rebuilt; one
    that failed is tried again (re-registering is how an operator retries).
    """
    now = timezone.now()
    pack.environments.update(is_current=False)
    for spec in specs:
        environment, created = PackEnvironment.objects.get_or_create(
            pack=pack,
            kind=spec.kind,
            sha256=spec.sha256,
            defaults={"files": spec.files, "defaults": list(spec.defaults), "requested_at": now},
        )
        environment.is_current = True
        environment.requested_at = now
        if environment.status != EnvironmentStatus.READY:
            environment.status = EnvironmentStatus.BUILDING
            environment.log = ""
            enqueue_on_commit(BUILD_TASK, environment.pk)
        environment.save()
    prune_environments(pack)


def prune_environments(pack) -> None:
    """Forget environments the pack no longer asks for, except its newest built one of each
    kind (runs fall back to it while a new one fails to build)."""
    keep = set(pack.environments.filter(is_current=True).values_list("pk", flat=True))
    for kind in pack.environments.values_list("kind", flat=True).distinct():
        newest = pack.environments.ready().filter(kind=kind).order_by("-built_at").first()
        if newest is not None:
            keep.add(newest.pk)
    pack.environments.exclude(pk__in=keep).delete()


def environment_specs(pack_dir, runner_types, has_sensors: bool) -> list[EnvironmentSpec]:
    """The environments the pack at `pack_dir` needs, with the configured default set."""
    try:
        return needed_specs(
            pack_dir, runner_types, has_sensors, settings.ATTUNE_PYTHON_DEFAULT_PACKAGES
        )
    except SpecInvalid as exc:
        raise PackInvalid([{"file": exc.file, "field": "", "message": exc.message}]) from exc


def spec_for_kind(kind: str, pack_dir: Path) -> EnvironmentSpec | None:
    """The `kind` environment of the pack at `pack_dir`; None when it needs none (Node.js
    without a package.json)."""
    if kind == "python":
        return python_spec(pack_dir, settings.ATTUNE_PYTHON_DEFAULT_PACKAGES)
    if (Path(pack_dir) / "package.json").is_file():
        return nodejs_spec(pack_dir)
    return None


def spec_of(environment: PackEnvironment) -> EnvironmentSpec:
    return EnvironmentSpec(environment.kind, environment.files, tuple(environment.defaults))


def get_environment(environment_id: int) -> PackEnvironment | None:
    return PackEnvironment.objects.select_related("pack").filter(pk=environment_id).first()


def environment_status(pack_ref: str, spec: EnvironmentSpec) -> tuple[str | None, str]:
    """(status, log) of the pack's environment for `spec`; (None, "") if none is recorded."""
    row = (
        PackEnvironment.objects.filter(pack__ref=pack_ref, kind=spec.kind, sha256=spec.sha256)
        .values_list("status", "log")
        .first()
    )
    return row or (None, "")


def last_ready_environment(pack_ref: str, kind: str, *, exclude: str) -> EnvironmentSpec | None:
    """The newest environment of the pack that built, other than `exclude`."""
    environment = (
        PackEnvironment.objects.ready()
        .filter(pack__ref=pack_ref, kind=kind)
        .exclude(sha256=exclude)
        .order_by("-built_at")
        .first()
    )
    return spec_of(environment) if environment else None


def record_environment_built(spec: EnvironmentSpec) -> None:
    """Mark every pack's environment with these inputs ready (they are the same build)."""
    PackEnvironment.objects.filter(kind=spec.kind, sha256=spec.sha256).exclude(
        status=EnvironmentStatus.READY
    ).update(status=EnvironmentStatus.READY, log="", built_at=timezone.now())
    logger.info("environment kind=%s sha=%s ready", spec.kind, spec.sha256[:12])


def record_environment_failed(spec: EnvironmentSpec, log: str) -> None:
    """Mark the environments with these inputs failed, keeping the end of the tool's output."""
    PackEnvironment.objects.filter(kind=spec.kind, sha256=spec.sha256).exclude(
        status=EnvironmentStatus.READY
    ).update(status=EnvironmentStatus.FAILED, log=log[-LOG_MAX_CHARS:])
    logger.warning("environment kind=%s sha=%s failed to build", spec.kind, spec.sha256[:12])


def container_images(actions) -> list[dict]:
    """The images the pack's container actions run (their `image` parameter's default)."""
    images = []
    for action in actions:
        if action.runner_type != "container":
            continue
        specs = action.parameter_specs()
        images.append(
            {
                "action": action.ref,
                "image": specs.get("image", {}).get("default"),
                "network": bool(specs.get("network", {}).get("default")),
            }
        )
    return images
