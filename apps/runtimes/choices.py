from django.db import models


class EnvironmentKind(models.TextChoices):
    PYTHON = "python"  # a virtualenv from requirements.txt plus the default set
    NODEJS = "nodejs"  # node_modules from package.json (and package-lock.json)


class EnvironmentStatus(models.TextChoices):
    BUILDING = "building"  # registered; a worker is (or will be) building it
    READY = "ready"  # built successfully at least once
    FAILED = "failed"  # the build failed; `log` holds pip's or npm's message
