"""Attune settings: every value comes from an environment variable (see .env.example)."""

import math
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from exc


def env_beat_seconds(name: str, default: int) -> int:
    """A beat interval in whole seconds, at least 1: django-celery-beat stores intervals as
    integers, and a fraction would become an entry that is always due (beat then sends it in a
    loop and starves the timers)."""
    return max(1, math.ceil(env_float(name, default)))


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


DATA_DIR = Path(env_str("ATTUNE_DATA_DIR", str(BASE_DIR / "data")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    # A stable per-installation key, so a restart keeps sessions and signed values valid.
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        import secrets

        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    SECRET_KEY = key_file.read_text().strip()

ALLOWED_HOSTS = env_str("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in env_str("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "django_celery_beat",
    "channels",
    "apps.core",
    "apps.accounts",
    "apps.packs",
    "apps.actions",
    "apps.executions",
    "apps.triggers",
    "apps.rules",
    "apps.webhooks",
    "apps.sensors",
    "apps.notifications",
    "apps.policies",
    "apps.datastore",
    "apps.audit",
    "apps.runtimes",
    "apps.workflows",
    "apps.inquiries",
    "apps.rbac",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "apps.audit.middleware.AuditMiddleware",
]

ROOT_URLCONF = "attune.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "attune.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def database_config() -> dict:
    """Return the default database: DATABASE_URL, else SQLite in the data folder."""
    url = env_str("DATABASE_URL", "")
    if url:
        config = dj_database_url.parse(url)
        if config["ENGINE"] == "django.db.backends.sqlite3":
            config.update(sqlite_options(Path(config["NAME"])))
        elif config["ENGINE"] == "django.db.backends.postgresql":
            config.update(postgres_pool_options())
        return config
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(DATA_DIR / "attune.sqlite3"),
        **sqlite_options(DATA_DIR / "attune.sqlite3"),
    }


def postgres_pool_options() -> dict:
    """A connection pool per process instead of persistent connections.

    Under ASGI every request runs its sync code in a thread of its own, so persistent
    connections (CONN_MAX_AGE > 0) pile up one per thread until PostgreSQL refuses clients;
    a pool shares a few connections among all threads. A pooled connection broken by a
    database restart fails the one request that gets it (a 503) and is then replaced; checking
    each connection handed out (CONN_HEALTH_CHECKS) would cost a round trip per request.
    """
    return {
        "CONN_MAX_AGE": 0,
        "OPTIONS": {
            "pool": {
                "min_size": 1,
                "max_size": env_int("DATABASE_POOL_MAX_SIZE", 8),
                "timeout": env_float("DATABASE_POOL_TIMEOUT_SECONDS", 10.0),
            }
        },
    }


def sqlite_options(path: Path) -> dict:
    """Let several processes (web, workers, beat) share one SQLite file safely."""
    return {
        "OPTIONS": {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
        # The test database must be a file too: workers are separate processes.
        "TEST": {"NAME": str(path.with_name(f"test_{path.name}"))},
    }


DATABASES = {"default": database_config()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
# Prefix of every Redis key and channel, so several installations (or test runs) can share one.
ATTUNE_REDIS_PREFIX = env_str("ATTUNE_REDIS_PREFIX", "")

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.BearerTokenAuthentication",
        "apps.accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "apps.core.api.parsers.StorableJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["apps.core.api.filters.ListFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.api.pagination.PagePagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.api.exception_handler.handle_exception",
    "DEFAULT_THROTTLE_CLASSES": ["apps.core.api.throttling.IdentityRateThrottle"],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Attune API",
    "DESCRIPTION": "Event-driven automation: packs, actions, executions.",
    "VERSION": "1.0.0",
}

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": ATTUNE_REDIS_PREFIX}
# kombu's Redis transport, reusing its client (attune/broker.py); only for a redis:// broker.
CELERY_BROKER_TRANSPORT = (
    "attune.broker:Transport" if CELERY_BROKER_URL.startswith("redis://") else None
)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# DatabaseScheduler plus second-resolution, drift-free timer rules (see workers/beat.py).
# Celery's Django fixup closes (and, in prefork children, destroys the pool of) every database
# connection around each task: two new PostgreSQL connections per execution. Reuse them.
CELERY_DB_REUSE_MAX = env_int("ATTUNE_WORKER_DB_REUSE_MAX", 1000)
CELERY_BEAT_SCHEDULER = "workers.beat:TimerScheduler"
CELERY_TASK_ROUTES = {
    "attune.run_execution": {"queue": "actions"},
    "attune.build_pack_environment": {"queue": "actions"},
    "attune.fire_timer": {"queue": "control"},
    "attune.*": {"queue": "control"},
}
CELERY_TASK_DEFAULT_QUEUE = "control"

# Channels serves /ws/stream/ without a channel layer: events travel through a Redis Stream
# (apps/notifications), which also keeps them for replay.

# --- Attune ---------------------------------------------------------------------------------
ATTUNE_PACKS_DIR = Path(env_str("ATTUNE_PACKS_DIR", str(BASE_DIR / "packs")))
ATTUNE_PACK_CACHE_DIR = Path(env_str("ATTUNE_PACK_CACHE_DIR", str(DATA_DIR / "pack_cache")))
ATTUNE_PACK_UPLOAD_MAX_BYTES = env_int("ATTUNE_PACK_UPLOAD_MAX_BYTES", 50 * 1024 * 1024)
ATTUNE_TOKEN_TTL_SECONDS = env_int("ATTUNE_TOKEN_TTL_SECONDS", 24 * 3600)
# How long a web process may reuse a token/API-key lookup (0: never); any credential or user
# change clears every process's cache at once through Redis (apps/accounts/cache.py).
ATTUNE_AUTH_CACHE_SECONDS = env_int("ATTUNE_AUTH_CACHE_SECONDS", 5)
ATTUNE_OUTPUT_MAX_BYTES = env_int("ATTUNE_OUTPUT_MAX_BYTES", 1024 * 1024)
ATTUNE_RESULT_MAX_BYTES = env_int("ATTUNE_RESULT_MAX_BYTES", 4 * 1024 * 1024)
ATTUNE_KILL_GRACE_SECONDS = env_float("ATTUNE_KILL_GRACE_SECONDS", 5.0)
ATTUNE_HEARTBEAT_SECONDS = env_float("ATTUNE_HEARTBEAT_SECONDS", 10.0)
ATTUNE_ABANDON_AFTER_SECONDS = env_float("ATTUNE_ABANDON_AFTER_SECONDS", 40.0)
ATTUNE_REAPER_INTERVAL_SECONDS = env_beat_seconds("ATTUNE_REAPER_INTERVAL_SECONDS", 10)
# How often pending inquiries past their TTL are timed out (so within this many seconds).
ATTUNE_INQUIRY_EXPIRY_INTERVAL_SECONDS = env_beat_seconds(
    "ATTUNE_INQUIRY_EXPIRY_INTERVAL_SECONDS", 2
)
ATTUNE_REDISPATCH_AFTER_SECONDS = env_float("ATTUNE_REDISPATCH_AFTER_SECONDS", 60.0)
ATTUNE_WEBHOOK_MAX_BYTES = env_int("ATTUNE_WEBHOOK_MAX_BYTES", 1024 * 1024)
ATTUNE_WEBHOOK_RATE_LIMIT_PER_MINUTE = env_int("ATTUNE_WEBHOOK_RATE_LIMIT_PER_MINUTE", 12000)
ATTUNE_WEBHOOK_MAX_HOPS = env_int("ATTUNE_WEBHOOK_MAX_HOPS", 10)
# Live notifications: events kept for replay, per-connection backlog, idle heartbeat.
ATTUNE_STREAM_RETENTION = env_int("ATTUNE_STREAM_RETENTION", 10000)
ATTUNE_WS_QUEUE_SIZE = env_int("ATTUNE_WS_QUEUE_SIZE", 1000)
ATTUNE_WS_HEARTBEAT_SECONDS = env_float("ATTUNE_WS_HEARTBEAT_SECONDS", 20.0)
# API requests a minute per identity (user, action/sensor process, or client address); 0: off.
ATTUNE_API_RATE_LIMIT_PER_MINUTE = env_int("ATTUNE_API_RATE_LIMIT_PER_MINUTE", 6000)
# Secrets at rest: AES-256-GCM key (urlsafe base64 of 32 bytes); empty: a key file in the data
# folder, created on first use. Old keys (comma-separated) still decrypt after a rotation.
ATTUNE_SECRETS_KEY = env_str("ATTUNE_SECRETS_KEY", "")
ATTUNE_SECRETS_KEY_FILE = Path(env_str("ATTUNE_SECRETS_KEY_FILE", str(DATA_DIR / "secrets.key")))
ATTUNE_SECRETS_OLD_KEYS = [k for k in env_str("ATTUNE_SECRETS_OLD_KEYS", "").split(",") if k]
# Where action and sensor processes reach the API (the datastore) from a worker.
ATTUNE_API_URL = env_str("ATTUNE_API_URL", f"http://127.0.0.1:{env_int('PORT', 8000)}")
ATTUNE_KEY_PURGE_INTERVAL_SECONDS = env_beat_seconds("ATTUNE_KEY_PURGE_INTERVAL_SECONDS", 3600)
# Per-pack environments (apps/runtimes, workers/environments.py) and the container runner.
ATTUNE_ENVIRONMENTS_DIR = Path(env_str("ATTUNE_ENVIRONMENTS_DIR", str(DATA_DIR / "environments")))
# Installed into every pack virtualenv unless the pack's requirements.txt names the project.
ATTUNE_PYTHON_DEFAULT_PACKAGES = env_str(
    "ATTUNE_PYTHON_DEFAULT_PACKAGES", "requests==2.34.2"
).split()
ATTUNE_ENVIRONMENT_BUILD_TIMEOUT_SECONDS = env_float(
    "ATTUNE_ENVIRONMENT_BUILD_TIMEOUT_SECONDS", 900.0
)
ATTUNE_CONTAINER_ENGINE = env_str("ATTUNE_CONTAINER_ENGINE", "auto")  # auto, podman or docker
ATTUNE_CONTAINERS_CONF = env_str(
    "ATTUNE_CONTAINERS_CONF", str(BASE_DIR / "workers" / "runners" / "containers.conf")
)
# Bodies larger than this are refused with 413 before anything reads them.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(ATTUNE_WEBHOOK_MAX_BYTES, 2621440)

CELERY_BEAT_SCHEDULE = {
    "attune.reap_executions": {
        "task": "attune.reap_executions",
        "schedule": ATTUNE_REAPER_INTERVAL_SECONDS,
    },
    "attune.redispatch_requested": {
        "task": "attune.redispatch_requested",
        "schedule": ATTUNE_REAPER_INTERVAL_SECONDS,
    },
    "attune.expire_inquiries": {
        "task": "attune.expire_inquiries",
        "schedule": ATTUNE_INQUIRY_EXPIRY_INTERVAL_SECONDS,
    },
    "attune.purge_expired_keys": {
        "task": "attune.purge_expired_keys",
        "schedule": ATTUNE_KEY_PURGE_INTERVAL_SECONDS,
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("ATTUNE_LOG_LEVEL", "INFO")},
    "loggers": {
        "uvicorn.access": {"level": "WARNING"},
        # Celery's "Task … received" and "… succeeded in …s" lines, twice per execution, say
        # less than `execution_id=… -> status`; a task that raises is still logged (ERROR).
        "celery.app.trace": {"level": "WARNING"},
        "celery.worker.strategy": {"level": "WARNING"},
    },
}
