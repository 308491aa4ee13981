"""Answer forms built from an inquiry's schema give typed answers (no database needed)."""

from apps.inquiries.forms import answer_form_class, response_from

SCHEMA = {
    "type": "object",
    "properties": {
        "level": {"enum": [1, 2, 3], "title": "Severity"},
        "count": {"type": "integer"},
        "ratio": {"type": "number", "description": "Share of hosts to restart."},
        "note": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["level"],
}


def answered(schema: dict, data: dict):
    form = answer_form_class(schema)(data)
    return form, response_from(form.cleaned_data) if form.is_valid() else None


def test_enum_integer_and_number_fields_answer_with_their_json_types():
    form, response = answered(
        SCHEMA, {"level": "2", "count": "7", "ratio": "0.5", "note": "", "tags": '["a"]'}
    )

    assert response == {"level": 2, "count": 7, "ratio": 0.5, "tags": ["a"]}
    assert type(response["level"]) is int
    assert [choice for choice, _ in form.fields["level"].choices] == ["", "1", "2", "3"]


def test_titles_and_descriptions_label_the_fields_and_required_ones_must_be_filled():
    form, response = answered(SCHEMA, {"count": "7"})

    assert response is None
    assert form.errors["level"] == ["This field is required."]
    assert form.fields["level"].label == "Severity"
    assert form.fields["ratio"].help_text == "Share of hosts to restart."
    assert not form.fields["count"].required


def test_a_required_boolean_takes_no_for_an_answer():
    schema = {
        "type": "object",
        "properties": {"approved": {"type": "boolean"}, "notify": {"type": "boolean"}},
        "required": ["approved"],
    }

    assert answered(schema, {"approved": "no"})[1] == {"approved": False, "notify": False}
    assert answered(schema, {"approved": "yes", "notify": "on"})[1] == {
        "approved": True,
        "notify": True,
    }
    assert answered(schema, {})[1] is None
