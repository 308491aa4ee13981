"""Celery's configuration: the `CELERY_*` Django settings, copied once into this module.

Celery looks settings up many times for every message it sends or receives. Read through
Django's lazy settings object, those lookups took a third of the CPU of a `send_task`; read
from this module's globals they cost little. Celery imports this module the first time it
needs a setting (`app.config_from_object` in attune/celery.py), so a setting changed before
then, as `run_platform` does with the broker URL, is still seen.
"""

from django.conf import settings

globals().update(
    {name: getattr(settings, name) for name in dir(settings) if name.startswith("CELERY_")}
)
