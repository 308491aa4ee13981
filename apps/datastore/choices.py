from django.db import models


class KeyScope(models.TextChoices):
    SYSTEM = "system", "system"
    USER = "user", "user"
