"""Run the whole platform in the foreground: Redis if needed, setup, then web, worker and beat.

Ctrl-C (or SIGTERM) stops every child and exits 0; if a child dies on its own, the others are
stopped and the command exits non-zero naming it.
"""

import logging
import os
import signal
import socket
import subprocess
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from apps.core import processes
from apps.core.redis_server import RedisUnavailable, ensure_redis, port_is_free

logger = logging.getLogger(__name__)

STOP_TIMEOUT_SECONDS = 15.0
POLL_SECONDS = 0.5
STOPS_LAST = "redis"  # the broker outlives the processes that talk to it


class Supervisor:
    """Start named child processes and stop them together."""

    def __init__(self):
        self.children: dict[str, subprocess.Popen] = {}
        self.force_kill = False

    def start(self, name: str, argv: list[str]) -> None:
        """Start `argv` as child `name` with this process's environment."""
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        process = subprocess.Popen(
            argv, cwd=settings.BASE_DIR, env=env, **processes.child_popen_kwargs()
        )
        self.adopt(name, process)

    def adopt(self, name: str, process: subprocess.Popen) -> None:
        """Supervise a child started elsewhere (the private Redis)."""
        logger.info("started %s pid=%s", name, process.pid)
        self.children[name] = process

    def dead_child(self) -> tuple[str, int] | None:
        """Return (name, exit code) of the first child that has exited, if any."""
        for name, process in self.children.items():
            if process.poll() is not None:
                return name, process.returncode
        return None

    def stop_all(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Stop every child; a second Ctrl-C or SIGTERM kills whatever is left at once."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._request_force_kill)
        first = [name for name in self.children if name != STOPS_LAST]
        self.stop(first, timeout)
        self.stop([name for name in self.children if name == STOPS_LAST], timeout)

    def stop(self, names: list[str], timeout: float) -> None:
        """SIGTERM the named children, wait up to `timeout`, then SIGKILL their process groups."""
        for name in names:
            if self.children[name].poll() is None:
                logger.info("stopping %s pid=%s", name, self.children[name].pid)
                self.children[name].terminate()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.force_kill:
            if all(self.children[name].poll() is not None for name in names):
                break
            time.sleep(0.1)
        for name in names:
            self.kill_group(name)

    def kill_group(self, name: str) -> None:
        """SIGKILL the child's whole process group (Celery pool processes included)."""
        process = self.children[name]
        if process.poll() is None:
            logger.warning("%s pid=%s did not stop in time; killing it", name, process.pid)
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass  # the group is already gone
        process.wait()

    def _request_force_kill(self, signum, frame) -> None:
        self.force_kill = True


class Command(BaseCommand):
    help = "Run Attune in the foreground: Redis if needed, migrate, web, worker and beat."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, help="web port (default: $PORT or 8000)")
        parser.add_argument(
            "--setup-only",
            action="store_true",
            help="migrate, register packs and create the admin user, then exit",
        )

    def handle(self, *args, port=None, setup_only=False, **options):
        if setup_only:
            self.set_up()
            return
        port = port or self.web_port()
        if not port_is_free(port):
            raise CommandError(f"port {port} is already in use; stop that server or set PORT")
        # SIGTERM behaves like Ctrl-C: both raise KeyboardInterrupt wherever we are. SIGINT is
        # set too because a shell starts background jobs with it ignored.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.default_int_handler)
        supervisor = Supervisor()
        try:
            dead = self.run(supervisor, port)
        except KeyboardInterrupt:
            dead = None
        finally:
            if supervisor.children:
                self.stdout.write("Stopping Attune...")
            supervisor.stop_all()
        if dead:
            name, code = dead
            raise CommandError(f"process '{name}' exited unexpectedly (code {code})")
        self.stdout.write("Attune stopped.")

    def run(self, supervisor: Supervisor, port: int) -> tuple[str, int] | None:
        """Start everything, then watch the children; return the first that died, if any."""
        self.ensure_redis(supervisor)
        self.set_up()
        # Action and sensor processes reach the datastore through this web server.
        os.environ.setdefault("ATTUNE_API_URL", f"http://127.0.0.1:{port}")
        for name, argv in processes.all_process_argvs(port=port).items():
            supervisor.start(name, argv)
        return self.watch(supervisor, port)

    def web_port(self) -> int:
        try:
            return processes.web_port()
        except ValueError as exc:
            raise CommandError(str(exc)) from exc

    def ensure_redis(self, supervisor: Supervisor) -> None:
        """Use the Redis at REDIS_URL, or start a private one and point every process at it."""
        try:
            process, url = ensure_redis(
                settings.REDIS_URL, settings.DATA_DIR, **processes.child_popen_kwargs()
            )
        except RedisUnavailable as exc:
            raise CommandError(str(exc)) from exc
        if process is None:
            return
        supervisor.adopt("redis", process)
        self.stdout.write(f"No Redis at {settings.REDIS_URL}; started a private one at {url}")
        use_redis_url(url)

    def set_up(self) -> None:
        """Bring the database up to date, register the packs on disk, ensure the admin user."""
        call_command("migrate", interactive=False, verbosity=1)
        call_command("register_packs")
        call_command("ensure_admin")

    def watch(self, supervisor: Supervisor, port: int) -> tuple[str, int] | None:
        """Announce the URLs once the web answers; return when a child dies."""
        is_announced = False
        while True:
            dead = supervisor.dead_child()
            if dead:
                return dead
            if not is_announced and port_accepts(port):
                self.announce(port)
                is_announced = True
            time.sleep(POLL_SECONDS)

    def announce(self, port: int) -> None:
        base = f"http://127.0.0.1:{port}"
        self.stdout.write(
            self.style.SUCCESS(
                f"Attune is up.\n  admin:    {base}/admin/\n  API docs: {base}/api/docs/\n"
                f"  health:   {base}/api/v1/health\nPress Ctrl-C to stop."
            )
        )


def use_redis_url(url: str) -> None:
    """Point this process and every child started after this at the Redis at `url`."""
    os.environ["REDIS_URL"] = url
    settings.REDIS_URL = url
    # An explicit CELERY_BROKER_URL (e.g. RabbitMQ) stays; otherwise the broker is Redis.
    if not os.environ.get("CELERY_BROKER_URL"):
        settings.CELERY_BROKER_URL = url


def port_accepts(port: int, host: str = "127.0.0.1") -> bool:
    """Return True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False
