from django.db import models


class EnforcementStatus(models.TextChoices):
    MATCHED = "matched"
    NOT_MATCHED = "not_matched"
    FAILED = "failed"
