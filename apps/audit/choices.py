from django.db import models


class AuditAction(models.TextChoices):
    CREATE = "create"
    CHANGE = "change"
    DELETE = "delete"
    EXECUTE = "execute"
    CANCEL = "cancel"
    ANSWER = "answer"
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
