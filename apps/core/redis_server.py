"""Find a Redis to talk to, or start a private one: used by `run_platform` and the test harness.

No Django imports, so a harness can call it before settings are loaded.
"""

import logging
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import redis

logger = logging.getLogger(__name__)

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
PREFERRED_PORT = 6380
START_TIMEOUT_SECONDS = 10.0


class RedisUnavailable(RuntimeError):
    """Redis cannot be reached and a private one cannot be started."""


def ensure_redis(url: str, data_dir: Path, **popen_kwargs) -> tuple[subprocess.Popen | None, str]:
    """Return (None, url) if Redis answers at `url`, else start a private one and return it.

    Only a local URL gets a private Redis: when a remote Redis is down, starting one here
    would silently split the machines of an installation across two brokers.
    """
    if redis_answers(url):
        return None, url
    if not is_local_url(url):
        raise RedisUnavailable(f"no Redis answers at {url}; start it or fix REDIS_URL")
    logger.warning("no Redis answers at %s; starting a private redis-server", url)
    return start_private_redis(data_dir, **popen_kwargs)


def redis_answers(url: str, timeout: float = 0.5) -> bool:
    """Return True if a Redis server at `url` answers PING within `timeout` seconds."""
    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def is_local_url(url: str) -> bool:
    """Return True if `url` points at this machine, where starting a Redis makes sense."""
    return (urlsplit(url).hostname or "127.0.0.1") in LOCAL_HOSTS


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Return True if nothing listens on host:port and we may bind it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """Return PREFERRED_PORT if it is free, else a port the OS reports as free."""
    if port_is_free(PREFERRED_PORT, host):
        return PREFERRED_PORT
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def find_redis_server() -> str:
    """Return the path of `redis-server`, installing it with apt-get when we are root."""
    path = shutil.which("redis-server")
    if path:
        return path
    if shutil.which("apt-get") and os.geteuid() == 0:
        install_redis_with_apt()
        path = shutil.which("redis-server")
        if path:
            return path
    raise RedisUnavailable(
        "redis-server is not installed and could not be installed automatically; "
        "install Redis (e.g. `apt-get install redis-server`) or point REDIS_URL at a running one."
    )


def install_redis_with_apt() -> None:
    """Install the redis-server package; refresh package lists once if the first try fails."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "redis-server"]
    logger.info("redis-server not found; running %s", " ".join(install))
    if subprocess.run(install, env=env, check=False).returncode == 0:
        return
    subprocess.run(["apt-get", "update"], env=env, check=False)
    subprocess.run(install, env=env, check=False)


def redis_server_argv(executable: str, port: int, data_dir: Path) -> list[str]:
    """Return the argv of a throw-away Redis: loopback only, no persistence."""
    return [
        executable,
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--dir", str(data_dir),
        "--save", "",
        "--appendonly", "no",
        "--daemonize", "no",
        "--loglevel", "warning",
    ]  # fmt: skip


def start_private_redis(
    data_dir: Path, port: int | None = None, **popen_kwargs
) -> tuple[subprocess.Popen, str]:
    """Start a private redis-server as a child process; return it and its URL once it answers.

    `popen_kwargs` go to `subprocess.Popen` (e.g. `start_new_session`, `preexec_fn`).
    """
    executable = find_redis_server()
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    url = f"redis://127.0.0.1:{port}/0"
    process = subprocess.Popen(redis_server_argv(executable, port, data_dir), **popen_kwargs)
    try:
        wait_until_answers(process, url)
    except RedisUnavailable:
        stop_process(process)
        raise
    logger.info("started private redis-server pid=%s at %s", process.pid, url)
    return process, url


def wait_until_answers(process: subprocess.Popen, url: str) -> None:
    """Wait until the Redis at `url` answers; raise if `process` exits or time runs out."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RedisUnavailable(f"redis-server exited with code {process.returncode}")
        if redis_answers(url, timeout=0.2):
            return
        time.sleep(0.1)
    raise RedisUnavailable(f"redis-server did not answer at {url} within {START_TIMEOUT_SECONDS}s")


def stop_process(process: subprocess.Popen, timeout: float = 5.0) -> None:
    """Terminate `process`, killing it if it is still alive after `timeout` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
