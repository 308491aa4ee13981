from django.db import models


class InquiryStatus(models.TextChoices):
    PENDING = "pending"
    RESPONDED = "responded"
    TIMEOUT = "timeout"
    CANCELED = "canceled"


# core.ask's default: a yes/no question.
DEFAULT_SCHEMA = {
    "type": "object",
    "properties": {
        "continue": {
            "type": "boolean",
            "description": "Would you like to continue the workflow?",
        }
    },
    "required": ["continue"],
}
