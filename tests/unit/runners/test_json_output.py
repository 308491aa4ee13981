"""Results printed as JSON on stdout (nodejs and container runners)."""

from workers.runners.outcome import parse_json_output


def test_whole_stdout_as_json():
    assert parse_json_output('{"a": [1,\n 2]}\n') == ({"a": [1, 2]}, True)


def test_last_line_as_json_after_log_lines():
    assert parse_json_output("working...\nstill working\n[1, 2]\n") == ([1, 2], True)


def test_no_json_is_reported():
    assert parse_json_output("done\n") == (None, False)
    assert parse_json_output("") == (None, False)
