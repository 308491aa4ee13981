"""Per-pack dependency environments: Python virtualenvs and Node.js node_modules."""

from django.db import models

from apps.runtimes.choices import EnvironmentKind, EnvironmentStatus


class PackEnvironmentQuerySet(models.QuerySet):
    def ready(self):
        return self.filter(status=EnvironmentStatus.READY)


class PackEnvironment(models.Model):
    """One set of dependencies a pack has asked for, and how building it went.

    The row keeps the dependency files, so any worker can build the environment on its own
    disk (keyed by `sha256`) without the pack's other content. The pack's *current* environment
    is the one its latest registration asked for; when that failed to build, runs use the
    newest one that did build.
    """

    pack = models.ForeignKey("packs.Pack", on_delete=models.CASCADE, related_name="environments")
    kind = models.CharField(max_length=20, choices=EnvironmentKind.choices)
    sha256 = models.CharField(max_length=64, help_text="Hash of everything that goes into it.")
    files = models.JSONField(default=dict, help_text="Dependency files by name.")
    defaults = models.JSONField(default=list, blank=True, help_text="Default set (Python).")
    status = models.CharField(
        max_length=20, choices=EnvironmentStatus.choices, default=EnvironmentStatus.BUILDING
    )
    log = models.TextField(blank=True, help_text="The end of pip's or npm's output on failure.")
    is_current = models.BooleanField(default=True, help_text="Asked for by the last registration.")
    requested_at = models.DateTimeField()
    built_at = models.DateTimeField(null=True, blank=True)

    objects = PackEnvironmentQuerySet.as_manager()

    class Meta:
        ordering = ["pack", "kind", "-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["pack", "kind", "sha256"], name="pack_environment_unique_sha"
            )
        ]

    def __str__(self):
        return f"{self.pack_id} {self.kind} {self.sha256[:12]} ({self.status})"
