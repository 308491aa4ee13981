"""Settings of the raw floor web app (bench/floor_web.py): Django with nothing but one view.

No database, no middleware, no installed apps: what is left is Django's request handling under
uvicorn, which Attune's webhook view also pays.
"""

SECRET_KEY = "bench-floor-not-secret"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.floor_web"
DATABASES: dict = {}
USE_TZ = True
LOGGING_CONFIG = None
