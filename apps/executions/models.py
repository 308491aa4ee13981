"""Executions: one row per requested run of an action, the truth about its progress."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections, models

from apps.actions.parameters import SECRET_MASK
from apps.executions.choices import TERMINAL, ExecutionStatus


class ExecutionQuerySet(models.QuerySet):
    def terminal(self):
        return self.filter(status__in=TERMINAL)

    def unfinished(self):
        return self.exclude(status__in=TERMINAL)

    def visible_to(self, user):
        """The executions `user` may read: their own (started by them or by their rules) and
        those their roles cover (see apps.rbac.authorization)."""
        from apps.rbac.authorization import visible_queryset

        return visible_queryset(user, "execution", self)


class ExecutionManager(models.Manager.from_queryset(ExecutionQuerySet)):
    def update_returning(self, execution_id: int, statuses, **fields) -> "Execution | None":
        """Set `fields` on execution `execution_id` if its status is one of `statuses`, and
        return the row as it now is, in one statement; None if it matched nothing.

        `UPDATE … RETURNING` instead of `.update()` then a SELECT: the claim and every other
        transition pay one round trip. The statement is written here, not compiled by the ORM
        from a filtered queryset, which cost more CPU than running it. `fields` are plain
        values of non-relation fields, by name, adapted as `.update()` would. The row is read
        off the cursor with the fields' own converters. The creator comes back as a deferred
        user holding only its id and username (what the execution's representation shows);
        any other field of it loads on access.
        """
        connection = connections[self.db]
        quote = connection.ops.quote_name
        meta = self.model._meta
        updated = [meta.get_field(name) for name in fields]
        assignments = ", ".join(f"{quote(field.column)} = %s" for field in updated)
        statuses = list(statuses)
        params = [field.get_db_prep_save(fields[field.name], connection) for field in updated]
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {quote(meta.db_table)} SET {assignments} "
                f"WHERE {quote(meta.pk.column)} = %s AND {quote('status')} IN "
                f"({', '.join(['%s'] * len(statuses))}) "
                f"RETURNING {returned_columns(self.model, connection)}",
                [*params, execution_id, *statuses],
            )
            row = cursor.fetchone()
        if row is None:
            return None
        *values, creator_username = row
        for index, column, converters in row_converters(self.model, connection):
            for convert in converters:
                values[index] = convert(values[index], column, connection)
        model_fields = meta.concrete_fields
        execution = self.model.from_db(self.db, [f.attname for f in model_fields], values)
        if execution.created_by_id is not None:
            user = get_user_model().from_db(
                self.db, ["id", "username"], [execution.created_by_id, creator_username]
            )
            Execution.created_by.field.set_cached_value(execution, user)
        return execution


_returned_columns: dict = {}


def returned_columns(model, connection) -> str:
    """Every concrete column of `model`, then its creator's username (a subquery); built once
    per model and database kind, as `row_converters`."""
    key = (model, connection.vendor)
    if key not in _returned_columns:
        quote = connection.ops.quote_name
        users = get_user_model()
        columns = ", ".join(quote(f.column) for f in model._meta.concrete_fields)
        creator = (
            f"(SELECT {quote('username')} FROM {quote(users._meta.db_table)}"
            f" WHERE {quote(users._meta.pk.column)} = {quote('created_by_id')})"
        )
        _returned_columns[key] = f"{columns}, {creator}"
    return _returned_columns[key]


_row_converters: dict = {}


def row_converters(model, connection) -> list:
    """[(index, column, converters)] turning a raw row of `model`'s concrete fields into
    Python values, as the ORM's compiler does (JSON decoding; dates and booleans on SQLite)."""
    key = (model, connection.vendor)
    if key not in _row_converters:
        found = []
        for index, field in enumerate(model._meta.concrete_fields):
            column = field.get_col(model._meta.db_table)
            converters = connection.ops.get_db_converters(column)
            converters += column.get_db_converters(connection)
            if converters:
                found.append((index, column, converters))
        _row_converters[key] = found
    return _row_converters[key]


class Execution(models.Model):
    """A run of an action: its parameters, status, output and result.

    `action_snapshot` freezes what was requested (runner, entry point, pack content hash), so a
    pack re-registered meanwhile changes later executions, never one already requested.
    """

    action = models.ForeignKey(
        "actions.Action", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action_ref = models.CharField(max_length=300, db_index=True)
    action_snapshot = models.JSONField(default=dict)
    parameters = models.JSONField(default=dict, blank=True)
    supplied_parameters = models.JSONField(
        default=dict, blank=True, help_text="What the requester sent; a re-run starts from it."
    )
    status = models.CharField(
        max_length=20, choices=ExecutionStatus.choices, default=ExecutionStatus.REQUESTED
    )
    result = models.JSONField(null=True, blank=True)
    stdout = models.TextField(blank=True)
    stderr = models.TextField(blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    error = models.TextField(blank=True, help_text="Why the platform stopped or failed it.")
    context = models.JSONField(default=dict, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    rerun_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reruns"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    worker = models.CharField(max_length=200, blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ExecutionManager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "dispatched_at"], name="execution_status_dispatched"),
            models.Index(fields=["status", "heartbeat_at"], name="execution_status_heartbeat"),
            models.Index(fields=["requested_at"], name="execution_requested_at"),
        ]

    def __str__(self):
        return f"{self.action_ref} #{self.pk} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    def secret_parameter_names(self) -> list[str]:
        return self.action_snapshot.get("secret_parameters", [])

    def masked_parameters(self) -> dict:
        """Parameters with secret values replaced by a mask, for every output."""
        secrets = set(self.secret_parameter_names())
        return {k: (SECRET_MASK if k in secrets else v) for k, v in self.parameters.items()}

    def timeout_seconds(self) -> int | None:
        return self.parameters.get("timeout")
