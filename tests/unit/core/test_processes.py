"""The platform's process commands: the web server runs the configured number of processes."""

import pytest

from apps.core.processes import process_argv


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_web_runs_two_processes_by_default(monkeypatch):
    monkeypatch.delenv("ATTUNE_WEB_WORKERS", raising=False)

    assert option(process_argv("web"), "--workers") == "2"


def test_web_processes_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("ATTUNE_WEB_WORKERS", "3")

    assert option(process_argv("web"), "--workers") == "3"


@pytest.mark.parametrize("raw", ["0", "two", "-1"])
def test_a_bad_web_process_count_is_refused_by_name(monkeypatch, raw):
    monkeypatch.setenv("ATTUNE_WEB_WORKERS", raw)

    with pytest.raises(ValueError, match="ATTUNE_WEB_WORKERS"):
        process_argv("web")
