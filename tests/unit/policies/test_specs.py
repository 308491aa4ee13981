"""Reading StackStorm policy files: defaults filled in, every problem named by its field."""

from apps.policies.specs import parse_policy


def parse(data):
    errors = []
    return parse_policy(data, "policies/p.yaml", errors), errors


def fields_of(errors):
    return sorted(error["field"] for error in errors)


def test_concurrency_policy_gets_stackstorms_defaults():
    spec, errors = parse(
        {"name": "x.concurrency", "resource_ref": "pack.x", "policy_type": "action.concurrency"}
    )

    assert errors == []
    assert spec.parameters == {"action": "delay", "threshold": 10}
    assert spec.is_enabled is True
    assert spec.metadata_file == "policies/p.yaml"


def test_attr_policy_requires_attribute_names():
    spec, errors = parse(
        {
            "name": "x",
            "resource_ref": "pack.x",
            "policy_type": "action.concurrency.attr",
            "parameters": {"threshold": 2},
        }
    )

    assert spec is None
    assert fields_of(errors) == ["parameters.attributes"]


def test_retry_policy_keeps_given_values_and_fills_the_rest():
    spec, errors = parse(
        {
            "name": "x.retry",
            "resource_ref": "pack.x",
            "policy_type": "action.retry",
            "parameters": {"retry_on": "timeout", "delay": 1.5},
        }
    )

    assert errors == []
    assert spec.parameters == {
        "retry_on": "timeout",
        "max_retry_count": 2,
        "delay": 1.5,
        "backoff": 1,
    }


def test_every_bad_field_is_reported_at_once():
    spec, errors = parse(
        {
            "name": "has space",
            "resource_ref": "noref",
            "policy_type": "action.concurrency",
            "parameters": {"threshold": 0, "action": "drop", "colour": "red"},
            "enabled": "yes",
        }
    )

    assert spec is None
    assert fields_of(errors) == [
        "enabled",
        "name",
        "parameters.action",
        "parameters.colour",
        "parameters.threshold",
        "resource_ref",
    ]


def test_unknown_policy_type_names_the_known_ones():
    _, errors = parse({"name": "x", "resource_ref": "pack.x", "policy_type": "action.magic"})

    assert fields_of(errors) == ["policy_type"]
    assert "action.retry" in errors[0]["message"]


def test_booleans_are_not_numbers():
    _, errors = parse(
        {
            "name": "x",
            "resource_ref": "pack.x",
            "policy_type": "action.retry",
            "parameters": {"max_retry_count": True, "backoff": 0.5},
        }
    )

    assert fields_of(errors) == ["parameters.backoff", "parameters.max_retry_count"]


def test_retry_on_takes_one_outcome_or_a_list_of_them():
    base = {"name": "x", "resource_ref": "pack.x", "policy_type": "action.retry"}

    listed, errors = parse({**base, "parameters": {"retry_on": ["failure", "abandoned"]}})
    assert errors == []
    assert listed.parameters["retry_on"] == ["failure", "abandoned"]
    for bad in ("success", [], ["failure", "maybe"]):
        _, errors = parse({**base, "parameters": {"retry_on": bad}})
        assert fields_of(errors) == ["parameters.retry_on"], bad
