"""Create the `admin` superuser if missing; password from ATTUNE_ADMIN_PASSWORD or generated."""

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the admin user once (password from ATTUNE_ADMIN_PASSWORD, else printed once)."

    def handle(self, *args, **options):
        User = get_user_model()
        if User.objects.filter(username="admin").exists():
            return
        password = os.environ.get("ATTUNE_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        User.objects.create_superuser("admin", "", password)
        if os.environ.get("ATTUNE_ADMIN_PASSWORD"):
            self.stdout.write("Created user 'admin' with the password from ATTUNE_ADMIN_PASSWORD.")
        else:
            self.stdout.write(f"Created user 'admin' with password: {password}  (shown once)")
