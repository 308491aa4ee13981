"""The nodejs runner on the live stack (T2.13): the pack's own node_modules, JSON in and out."""

import pytest

from tests.support.packs import FIXTURE_PACKS, current_environments, register, wait_for_environments

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def nodepack(stack, admin_api):
    register(admin_api, FIXTURE_PACKS / "nodepack")
    return wait_for_environments(admin_api, "nodepack")


def test_package_json_gets_its_own_node_modules_built_at_registration(nodepack):
    environment = current_environments(nodepack)["nodejs"]

    assert environment["status"] == "ready", environment["log"]
    assert '"is-number": "7.0.0"' in environment["files"]["package.json"]
    assert "python" not in current_environments(nodepack)  # no Python actions, no virtualenv


def test_node_action_gets_parameters_on_stdin_and_returns_json_on_stdout(nodepack, alice_api):
    execution = alice_api.run_and_wait(
        "nodepack.classify", values=[1, "2", "x", None], token="s3cret-token"
    )

    assert execution["status"] == "succeeded", execution["error"]
    result = execution["result"]["result"]
    assert result["numbers"] == [1, "2"]
    assert result["others"] == ["x", None]
    assert result["token_length"] == len("s3cret-token")  # secrets arrive on stdin
    assert (
        f"/nodejs/{current_environments(nodepack)['nodejs']['sha256'][:16]}/"
        in (result["module_path"])
    )
    assert execution["stdout"].startswith("log line before the result\n")
    assert execution["stderr"] == "classifying 4 values\n"
    assert "s3cret-token" not in str(execution)


def test_node_action_exiting_nonzero_fails_with_its_stderr(nodepack, alice_api):
    execution = alice_api.run_and_wait("nodepack.fail")

    assert execution["status"] == "failed"
    assert execution["exit_code"] == 3
    assert execution["stderr"] == "the gadget refused\n"


def test_node_action_printing_no_json_fails_and_says_so(nodepack, alice_api):
    execution = alice_api.run_and_wait("nodepack.chatter")

    assert execution["status"] == "failed"
    assert execution["error"] == "the action printed no JSON result on stdout"
    assert execution["stdout"] == "done, but no JSON here\n"
