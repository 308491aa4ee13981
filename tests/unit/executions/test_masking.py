"""Masking secret values wherever they appear in an execution's output and result."""

from apps.actions.parameters import SECRET_MASK
from apps.executions.masking import mask_secret_values


def test_a_secret_is_masked_wherever_it_appears_in_text():
    output = "connecting with hunter2... hunter2 accepted"

    assert mask_secret_values(output, ["hunter2"]) == (
        f"connecting with {SECRET_MASK}... {SECRET_MASK} accepted"
    )


def test_secrets_are_masked_inside_nested_results():
    result = {"token": "s3cr3t-token", "log": ["got s3cr3t-token", 5, None], "ok": True}

    masked = mask_secret_values(result, ["s3cr3t-token"])

    assert masked == {"token": SECRET_MASK, "log": [f"got {SECRET_MASK}", 5, None], "ok": True}


def test_masking_does_not_change_the_original_value():
    result = {"log": ["hunter2"]}

    mask_secret_values(result, ["hunter2"])

    assert result == {"log": ["hunter2"]}


def test_the_longer_of_two_overlapping_secrets_is_masked_whole():
    masked = mask_secret_values("key=abcdefgh", ["abcd", "abcdefgh"])

    assert masked == f"key={SECRET_MASK}"
    assert "efgh" not in masked


def test_short_secrets_are_not_masked_everywhere():
    assert mask_secret_values("yes 1 ok", ["yes", "1", "ok"]) == "yes 1 ok"


def test_non_string_secrets_are_masked_by_their_text():
    assert mask_secret_values("pin is 987654", [987654]) == f"pin is {SECRET_MASK}"


def test_no_secrets_leaves_the_value_alone():
    value = {"a": "hunter2"}

    assert mask_secret_values(value, []) is value
    assert mask_secret_values(value, [None]) == value
