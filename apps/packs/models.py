"""Packs: registered bundles of automation content, stored with their files."""

from django.conf import settings
from django.db import models


class PackQuerySet(models.QuerySet):
    def system(self):
        return self.filter(is_system=True)


class Pack(models.Model):
    """A registered pack (StackStorm's `pack.yaml`), pointing at its stored files."""

    ref = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    version = models.CharField(max_length=50)
    description = models.TextField(blank=True)
    author = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=200, blank=True)
    metadata = models.JSONField(default=dict, help_text="The whole pack.yaml as registered.")
    is_system = models.BooleanField(default=False, help_text="Visible and usable by everyone.")
    # PROTECT: a user who still owns packs cannot be deleted. Ownerless packs are the
    # installation's (shared, run with its rights): a deleted user's must not become that.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    content = models.ForeignKey("PackContent", on_delete=models.PROTECT, related_name="packs")
    source = models.CharField(max_length=500, blank=True, help_text="Where it was registered from.")
    registered_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PackQuerySet.as_manager()

    class Meta:
        ordering = ["ref"]

    def __str__(self):
        return self.ref


class PackContent(models.Model):
    """The pack's files as a deterministic .tar.gz, keyed by its SHA-256.

    Workers on any machine materialize a pack from here, so no shared filesystem is needed.
    """

    sha256 = models.CharField(max_length=64, primary_key=True)
    archive = models.BinaryField()
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.sha256[:12]
