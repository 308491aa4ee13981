"""The health report: database, broker, and the processes heard from lately."""

from django.db import connection

from apps.core.liveness import RULES_ENGINES, WORKERS, Heartbeats
from apps.core.services import redis_client


def check_health() -> dict:
    """Report database, broker, worker and rules engine liveness."""
    report = {
        "database": check_database(),
        "broker": check_broker(),
        "workers": check_heartbeats(WORKERS, "workers"),
        "rules_engines": check_heartbeats(RULES_ENGINES, "engines"),
    }
    report["status"] = "ok" if all(v["ok"] for v in report.values()) else "degraded"
    return report


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True}
    except Exception as exc:  # noqa: BLE001 - health reports any failure
        return {"ok": False, "error": str(exc)}


def check_broker() -> dict:
    try:
        redis_client().ping()
        return {"ok": True}
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": str(exc)}


def check_heartbeats(heartbeats: Heartbeats, field: str) -> dict:
    try:
        names = heartbeats.live()
    except Exception as exc:  # noqa: BLE001 - health reports any failure
        return {"ok": False, "error": str(exc), field: []}
    return {"ok": bool(names), field: names}
