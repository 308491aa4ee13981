"""The container engine interface against the real engine (Podman here), without the stack."""

import os
import signal
import subprocess
import time

import pytest

from tests.support.containers import IMAGE, build_busybox_image
from workers.runners.container_engine import ContainerSpec, NoContainerEngine, container_engine

EXECUTION_ID = 987654321  # no real execution: the label only has to be unique to this test


@pytest.fixture(scope="module")
def engine():
    try:
        found = container_engine()
    except NoContainerEngine as exc:  # .ci/run installs podman; a bare laptop may lack it
        pytest.skip(str(exc))
    build_busybox_image(found)
    return found


def spec(**overrides) -> ContainerSpec:
    values = {
        "name": f"attune-test-{os.getpid()}",
        "image": IMAGE,
        "command": ["sleep", "600"],
        "execution_id": EXECUTION_ID,
        "has_network": False,
        "cpus": 0.5,
        "memory_mb": 32,
        "pids_limit": 16,
        "pull": "never",
        "env": {},
        "max_seconds": 2,
    }
    return ContainerSpec(**{**values, **overrides})


def wait_until_gone(engine, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while engine.containers_of(EXECUTION_ID):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def test_a_container_whose_worker_died_ends_itself_after_its_time(engine):
    if engine.name != "podman":
        pytest.skip("only Podman enforces a container's run time itself")
    client = subprocess.Popen(
        engine.run_argv(spec()),
        env=engine.environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not engine.containers_of(EXECUTION_ID):
            assert time.monotonic() < deadline, "the container never started"
            time.sleep(0.1)
        os.killpg(client.pid, signal.SIGKILL)  # the worker dies: nobody will remove it

        assert wait_until_gone(engine, timeout=30)
    finally:
        client.wait()
        engine.remove(spec().name)


def test_remove_ends_a_running_container_and_ignores_a_missing_one(engine):
    client = subprocess.Popen(
        engine.run_argv(spec(max_seconds=None)),
        env=engine.environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not engine.containers_of(EXECUTION_ID):
            assert time.monotonic() < deadline, "the container never started"
            time.sleep(0.1)

        engine.remove(spec().name)
        engine.remove(spec().name)  # already gone: no error

        assert engine.containers_of(EXECUTION_ID) == []
        assert client.wait(timeout=30) != 0
    finally:
        engine.remove(spec().name)
