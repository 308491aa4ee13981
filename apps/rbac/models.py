"""Roles, their permission grants, and who holds them (users or Django groups)."""

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import Q

from apps.rbac.choices import PERMISSION_TYPES


class Role(models.Model):
    """A named set of grants. System roles (`admin`, `operator`, `viewer`) have their grants in
    code (`choices.system_role_grants`) and cannot be changed or deleted."""

    name = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    is_system = models.BooleanField(default=False)
    is_enabled = models.BooleanField(default=True)
    source = models.CharField(max_length=500, blank=True, help_text="The YAML file it came from.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Grant(models.Model):
    """Permission of one type, on every resource of its type, on those of one pack, or on one
    resource (by ref, id or name)."""

    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="grants")
    permission_type = models.CharField(max_length=60, choices=[(p, p) for p in PERMISSION_TYPES])
    pack_ref = models.CharField(max_length=100, blank=True, help_text="Only in this pack.")
    resource_ref = models.CharField(max_length=300, blank=True, help_text="Only this resource.")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(pack_ref="") | Q(resource_ref=""), name="grant_one_scope"
            )
        ]

    def __str__(self):
        scope = self.resource_ref or (self.pack_ref and f"pack {self.pack_ref}") or "everything"
        return f"{self.permission_type} on {scope}"


class RoleAssignment(models.Model):
    """A role held by one user or by every member of one group."""

    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="role_assignments",
    )
    group = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.CASCADE, related_name="role_assignments"
    )
    description = models.TextField(blank=True)
    source = models.CharField(max_length=500, blank=True, help_text="The YAML file it came from.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=True, group__isnull=False)
                | Q(user__isnull=False, group__isnull=True),
                name="assignment_user_or_group",
            ),
            models.UniqueConstraint(fields=["role", "user"], name="unique_role_user"),
            models.UniqueConstraint(fields=["role", "group"], name="unique_role_group"),
        ]

    def __str__(self):
        return f"{self.role} to {self.user or self.group}"
