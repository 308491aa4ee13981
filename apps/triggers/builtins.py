"""Trigger types every installation has (StackStorm's `core.st2.*` system triggers)."""

TIMER_PAYLOAD = {
    "type": "object",
    "properties": {
        "executed_at": {"type": "string", "format": "date-time"},
        "schedule": {"type": ["object", "null"]},
    },
}
TIMEZONE = {"type": "string", "description": "IANA time zone, default UTC."}

BUILTIN_TRIGGER_TYPES = [
    {
        "ref": "core.st2.webhook",
        "description": "An HTTP POST to /api/v1/webhooks/<url>.",
        "parameters_schema": {
            "type": "object",
            "properties": {"url": {"type": "string", "pattern": r"^[A-Za-z0-9_.\-/]+$"}},
            "required": ["url"],
            "additionalProperties": False,
        },
        "payload_schema": {
            "type": "object",
            "properties": {"headers": {"type": "object"}, "body": {}},
        },
    },
    {
        "ref": "core.st2.IntervalTimer",
        "description": "Fires every `delta` `unit`s.",
        "parameters_schema": {
            "type": "object",
            "properties": {
                "unit": {"enum": ["weeks", "days", "hours", "minutes", "seconds"]},
                "delta": {"type": "integer", "minimum": 1},
                "timezone": TIMEZONE,
            },
            "required": ["unit", "delta"],
            "additionalProperties": False,
        },
        "payload_schema": TIMER_PAYLOAD,
    },
    {
        "ref": "core.st2.DateTimer",
        "description": "Fires once at `date`.",
        "parameters_schema": {
            "type": "object",
            "properties": {"date": {"type": "string"}, "timezone": TIMEZONE},
            "required": ["date"],
            "additionalProperties": False,
        },
        "payload_schema": TIMER_PAYLOAD,
    },
    {
        "ref": "core.st2.CronTimer",
        "description": "Fires on a cron schedule (fields as StackStorm's, `second` included).",
        "parameters_schema": {
            "type": "object",
            "properties": {
                **{
                    name: {"type": ["string", "integer"]}
                    for name in (
                        "year", "month", "day", "week", "day_of_week", "hour", "minute", "second"
                    )
                },
                "timezone": TIMEZONE,
            },
            "additionalProperties": False,
        },
        "payload_schema": TIMER_PAYLOAD,
    },
    {
        "ref": "core.st2.generic.inquiry",
        "description": "An inquiry (core.ask) is waiting for an answer.",
        "parameters_schema": {},
        "payload_schema": {
            "type": "object",
            "properties": {"id": {"type": "integer"}, "route": {"type": "string"}},
            "required": ["id", "route"],
        },
    },
    {
        "ref": "core.st2.generic.actiontrigger",
        "description": "An execution finished.",
        "parameters_schema": {},
        "payload_schema": {
            "type": "object",
            "properties": {
                "execution_id": {"type": "integer"},
                "status": {"type": "string"},
                "start_timestamp": {"type": ["string", "null"]},
                "action_name": {"type": "string"},
                "action_ref": {"type": "string"},
                "runner_ref": {"type": "string"},
                "parameters": {"type": "object"},
                "result": {},
            },
        },
    },
]  # fmt: skip
