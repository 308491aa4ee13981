"""Forms built from an inquiry's JSON schema, so a person can answer it in the admin.

Only the top-level properties of an object schema become fields; the service still checks the
whole answer against the schema (lengths, ranges, patterns, nested values).
"""

import json

from django import forms

BLANK = ("", "---------")
# A required boolean is a yes/no choice: an unchecked checkbox could not tell "no" from "not
# answered", and "no" is a real answer.
YES_NO = [BLANK, ("yes", "yes"), ("no", "no")]
FIELD_CLASSES = {
    "string": forms.CharField,
    "integer": forms.IntegerField,
    "number": forms.FloatField,
}


def answer_form_class(schema: dict) -> type[forms.Form]:
    """A form with one field per top-level property of `schema`, required ones first.

    The schema is stored as jsonb, which forgets the order its author wrote the properties in.
    """
    required = set(schema.get("required", []))
    properties = schema.get("properties", {})
    names = sorted(properties, key=lambda name: name not in required)
    fields = {name: field_for(properties[name], name in required) for name in names}
    return type("AnswerForm", (forms.Form,), fields)


def field_for(spec: dict | bool, is_required: bool) -> forms.Field:
    """The field for one property: `enum` is a choice keeping its values' JSON types; other types
    without a field of their own (objects, arrays, unions) are typed in as JSON."""
    if not isinstance(spec, dict):  # `true` is a valid property schema: anything goes
        spec = {}
    options = {
        "required": is_required,
        "label": spec.get("title"),
        "help_text": spec.get("description", ""),
    }
    kind = spec.get("type")
    if "enum" in spec:
        choices = [BLANK, *((json.dumps(value), shown(value)) for value in spec["enum"])]
        return forms.TypedChoiceField(
            choices=choices, coerce=json.loads, empty_value=None, **options
        )
    if kind == "boolean" and is_required:
        return forms.TypedChoiceField(choices=YES_NO, coerce=is_yes, empty_value=None, **options)
    if kind == "boolean":
        return forms.BooleanField(**options)  # unchecked answers False
    if kind in FIELD_CLASSES:
        return FIELD_CLASSES[kind](**options)
    return forms.JSONField(**{**options, "help_text": options["help_text"] or "A JSON value."})


def shown(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def is_yes(value: str) -> bool:
    return value == "yes"


def response_from(cleaned_data: dict) -> dict:
    """The answer to send: every field filled in; optional fields left empty are omitted."""
    return {
        name: value for name, value in cleaned_data.items() if value is not None and value != ""
    }
