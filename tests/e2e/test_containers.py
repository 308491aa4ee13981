"""The container runner on the live stack (T3.17): image and command, parameters on stdin, no
network unless allowed, CPU and memory caps, and the container removed afterwards, also on
timeout and cancel."""

import socket
import threading
import time

import pytest

from tests.support.containers import IMAGE, build_busybox_image
from tests.support.packs import FIXTURE_PACKS, register
from workers.runners.container_engine import NoContainerEngine, container_engine

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def engine():
    try:
        found = container_engine()
    except NoContainerEngine as exc:  # .ci/run installs podman; a bare laptop may lack it
        pytest.skip(str(exc))
    build_busybox_image(found)
    return found


@pytest.fixture(scope="module")
def containerpack(stack, admin_api, engine):
    pack = register(admin_api, FIXTURE_PACKS / "containerpack")
    images = {i["action"]: i["image"] for i in pack["images"]}
    assert images["containerpack.echo_params"] == IMAGE
    assert images["containerpack.missing_image"] == "localhost/attune-no-such-image:1"
    return pack


def wait_for_container(engine, execution_id: int, timeout: float = 60.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while not (names := engine.containers_of(execution_id)):
        if time.monotonic() > deadline:
            raise AssertionError(f"no container for execution {execution_id}")
        time.sleep(0.1)
    return names


@pytest.fixture
def listener():
    """A TCP port on every host address, counting the connections it accepts."""
    server = socket.create_server(("0.0.0.0", 0))
    accepted = []

    def accept():
        while True:
            try:
                connection, address = server.accept()
            except OSError:
                return
            accepted.append(address)
            connection.close()

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1], accepted
    server.close()


def test_parameters_go_in_on_stdin_and_the_json_printed_is_the_result(
    containerpack, engine, alice_api
):
    execution = alice_api.run_and_wait(
        "containerpack.echo_params", greeting="hi there", password="hunter2-secret"
    )

    assert execution["status"] == "succeeded", execution["error"] + execution["stderr"]
    assert execution["result"]["result"] == {"greeting": "hi there", "password": "********"}
    assert "hunter2-secret" not in str(execution)  # it went in on stdin, masked on the way out
    assert engine.containers_of(execution["id"]) == []  # removed after a normal exit


def test_no_network_unless_the_action_allows_it(containerpack, engine, alice_api, listener):
    port, accepted = listener

    isolated = alice_api.run_and_wait("containerpack.probe_network", env={"PROBE_PORT": port})
    assert isolated["status"] == "succeeded", isolated["error"] + isolated["stderr"]
    assert isolated["result"]["result"] == {"interfaces": "lo ", "connected": False}
    assert accepted == []

    allowed = alice_api.run_and_wait(
        "containerpack.probe_network", env={"PROBE_PORT": port}, network=True
    )
    assert allowed["status"] == "succeeded", allowed["error"] + allowed["stderr"]
    assert allowed["result"]["result"]["connected"] is True
    assert len(accepted) == 1


def test_memory_and_cpu_caps_apply_inside_the_container(containerpack, alice_api):
    execution = alice_api.run_and_wait("containerpack.limits", memory_mb=64, cpus=0.5)

    assert execution["status"] == "succeeded", execution["error"] + execution["stderr"]
    caps = execution["result"]["result"]
    assert caps["memory"] == 64 * 1024 * 1024
    assert caps["cpu_quota"] / caps["cpu_period"] == 0.5


def test_timeout_stops_the_action_and_removes_its_container(containerpack, engine, alice_api):
    requested = alice_api.run("containerpack.sleeper", timeout=3)
    wait_for_container(engine, requested["id"])

    execution = alice_api.wait_for(requested["id"])

    assert execution["status"] == "timeout"
    assert engine.containers_of(execution["id"]) == []


def test_cancel_stops_the_action_and_removes_its_container(containerpack, engine, alice_api):
    requested = alice_api.run("containerpack.sleeper")
    wait_for_container(engine, requested["id"])

    response = alice_api.post(f"/api/v1/executions/{requested['id']}/cancel")
    execution = alice_api.wait_for(requested["id"])

    assert response.status_code in (200, 202), response.text
    assert execution["status"] == "canceled"
    assert engine.containers_of(execution["id"]) == []


def test_a_missing_image_fails_with_the_engine_message(containerpack, engine, alice_api):
    execution = alice_api.run_and_wait("containerpack.missing_image")

    assert execution["status"] == "failed"
    assert "attune-no-such-image" in execution["stderr"]
    assert engine.containers_of(execution["id"]) == []
