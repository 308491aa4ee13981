"""The sensor container: run every enabled pack sensor in its own process and keep it running.

One selector waits on everything: each sensor's dispatch, stdout and stderr pipes and its
pidfd, plus a wake-up pipe that a listener thread pokes when a sensor change is announced on
Redis. Timers (respawn after backoff, SIGKILL after the grace period, heartbeats, a slow
re-sync with the database as a safety net) become the selector's timeout, so nothing polls.
"""

import json
import logging
import os
import selectors
import signal
import threading
import time

import redis
from django.conf import settings
from django.db import DatabaseError, close_old_connections

from apps.core.exceptions import NotFound
from apps.runtimes.services import spec_for_kind
from apps.sensors import services
from apps.triggers.choices import TriggerSource
from apps.triggers.services import dispatch_trigger
from workers.environments import environment_for, python_interpreter
from workers.pack_cache import pack_directory
from workers.sensors.process import SensorProcess, spawn_sensor

logger = logging.getLogger(__name__)


def sensor_interpreter(pack_ref: str, pack_dir) -> str:
    """The Python of the pack's virtualenv, built first if this machine lacks it (which holds
    up the container's loop for the build; registration normally builds it ahead)."""
    spec = spec_for_kind("python", pack_dir)
    return str(python_interpreter(environment_for(pack_ref, spec)))


RESYNC_SECONDS = 10.0
BACKOFF_MAX_SECONDS = 60.0
STABLE_AFTER_SECONDS = 60.0  # a sensor that ran this long before crashing backs off afresh
LISTEN_RETRY_SECONDS = 1.0


class SensorContainer:
    """Start, watch, respawn and stop the enabled sensors."""

    def __init__(self):
        self.selector = selectors.DefaultSelector()
        self.children: dict[str, SensorProcess] = {}
        self.failures: dict[str, int] = {}  # consecutive crashes, while backing off
        self.respawn_at: dict[str, float] = {}
        self.is_dirty = True
        self.is_stopping = False
        self.next_resync = 0.0
        self.next_heartbeat = 0.0
        self.wake_read, self.wake_write = os.pipe()
        os.set_blocking(self.wake_read, False)
        os.set_blocking(self.wake_write, False)
        self.selector.register(self.wake_read, selectors.EVENT_READ, ("wake", None))

    def run(self) -> None:
        """Run until SIGTERM or SIGINT, then stop every sensor."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self.request_stop)
        services.reset_sensor_states()
        threading.Thread(target=self.listen_for_changes, daemon=True).start()
        logger.info("sensor container started")
        try:
            while not self.is_stopping:
                close_old_connections()  # a long-lived process: drop a broken connection
                self.handle_timers(time.monotonic())
                for key, _ in self.selector.select(self.wait_seconds(time.monotonic())):
                    self.handle_event(*key.data, key.fd)
        finally:
            self.shutdown()
        logger.info("sensor container stopped")

    def request_stop(self, signum, frame) -> None:
        self.is_stopping = True
        self.wake()

    def wake(self) -> None:
        try:
            os.write(self.wake_write, b"!")
        except BlockingIOError:
            pass  # already awake

    def drain_wake_pipe(self) -> None:
        try:
            while os.read(self.wake_read, 4096):
                pass
        except BlockingIOError:
            pass

    def listen_for_changes(self) -> None:
        """Wake the loop whenever a sensor change is announced (runs in its own thread)."""
        while not self.is_stopping:
            try:
                client = redis.Redis.from_url(settings.REDIS_URL, health_check_interval=30)
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(services.changes_channel())
                self.wake()  # (re)subscribed: re-sync in case a change went by meanwhile
                for _message in pubsub.listen():
                    self.wake()
            except redis.RedisError as exc:
                logger.warning("sensor change channel unavailable (%s); retrying", exc)
                time.sleep(LISTEN_RETRY_SECONDS)

    def wait_seconds(self, now: float) -> float:
        moments = [self.next_resync, self.next_heartbeat, *self.respawn_at.values()]
        moments += [child.kill_at for child in self.children.values() if child.kill_at]
        return 0.0 if self.is_dirty else max(0.0, min(moments) - now)

    def handle_timers(self, now: float) -> None:
        is_respawn_due = any(at <= now for at in self.respawn_at.values())
        if self.is_dirty or is_respawn_due or now >= self.next_resync:
            self.is_dirty = False
            self.next_resync = now + RESYNC_SECONDS
            self.reconcile()
        for child in self.children.values():
            if child.kill_at is not None and now >= child.kill_at:
                logger.warning("sensor=%s did not stop in time; killing it", child.ref)
                child.signal(signal.SIGKILL)
                child.kill_at = float("inf")  # its pidfd reports the end
        if now >= self.next_heartbeat:
            self.next_heartbeat = now + settings.ATTUNE_HEARTBEAT_SECONDS
            self.guard(services.record_heartbeat, list(self.children))

    def handle_event(self, kind: str, ref: str | None, fd: int) -> None:
        if kind == "wake":
            self.drain_wake_pipe()
            self.is_dirty = True
        elif kind == "exited":
            self.reap(self.children[ref])
        else:
            self.read_output(self.children[ref], fd)

    def reconcile(self) -> None:
        """Make the running sensors those enabled in the database, as registered now."""
        try:
            wanted = services.sensors_to_run()
        except DatabaseError:
            logger.exception("could not read the sensors; retrying shortly")
            self.next_resync = time.monotonic() + 1.0
            return
        for child in self.children.values():
            if not child.is_stopping and wanted.get(child.ref) != child.launch:
                logger.info("stopping sensor=%s", child.ref)
                child.stop(settings.ATTUNE_KILL_GRACE_SECONDS)
        gone = [ref for ref in self.respawn_at if ref not in wanted]
        for ref in gone:
            del self.respawn_at[ref], self.failures[ref]
        if gone:
            self.guard(services.record_sensors_stopped, gone)
        now = time.monotonic()
        for ref, launch in wanted.items():
            if ref not in self.children and self.respawn_at.get(ref, 0.0) <= now:
                self.start(launch, is_respawn=self.respawn_at.pop(ref, None) is not None)
        self.guard(self.update_triggers)

    def start(self, launch, *, is_respawn: bool) -> None:
        try:
            triggers = services.triggers_for(launch.trigger_types)
            pack_dir = pack_directory(launch.content_sha256)
            python = sensor_interpreter(launch.pack_ref, pack_dir)
            child = spawn_sensor(launch, pack_dir, python, triggers, is_respawn=is_respawn)
        except Exception as exc:  # noqa: BLE001 - a sensor that cannot start backs off
            logger.exception("sensor=%s could not start", launch.ref)
            self.back_off(launch.ref, time.monotonic(), f"could not start: {exc}")
            return
        self.children[launch.ref] = child
        for fd in child.streams:
            self.selector.register(fd, selectors.EVENT_READ, ("output", launch.ref))
        self.selector.register(child.pidfd, selectors.EVENT_READ, ("exited", launch.ref))
        logger.info(
            "started sensor=%s pid=%s respawn=%s", launch.ref, child.process.pid, is_respawn
        )
        self.guard(
            services.record_sensor_started, launch.ref, child.process.pid, is_respawn=is_respawn
        )

    def read_output(self, child: SensorProcess, fd: int) -> None:
        lines = child.read(fd)
        if lines is None:
            self.selector.unregister(fd)
            return
        stream = child.streams[fd]
        for line in lines:
            if stream == "dispatch":
                self.dispatch(child, line)
            elif line.strip():
                logger.info("sensor=%s %s: %s", child.ref, stream, line.decode(errors="replace"))

    def dispatch(self, child: SensorProcess, line: bytes) -> None:
        """Record what the sensor dispatched; an invalid payload becomes a failed instance."""
        try:
            message = json.loads(line)
            trigger = str(message["trigger"])
        except (ValueError, KeyError, TypeError):
            logger.warning("sensor=%s sent an unreadable dispatch: %.200r", child.ref, line)
            return
        if "." not in trigger:
            trigger = f"{child.launch.pack_ref}.{trigger}"
        payload = message.get("payload")
        tag = message.get("trace_tag")
        try:
            dispatch_trigger(
                trigger,
                {} if payload is None else payload,
                source=TriggerSource.SENSOR,
                source_detail=child.ref,
                note=f"trace_tag: {tag}" if tag else "",
                refuse_invalid=False,
            )
        except NotFound:
            logger.warning("sensor=%s dispatched unknown trigger %s", child.ref, trigger)
        except DatabaseError:
            logger.exception("sensor=%s dispatch of %s not recorded", child.ref, trigger)

    def reap(self, child: SensorProcess) -> None:
        """The sensor's process ended: read what is left, then record a stop or a crash."""
        child.process.wait()
        for fd in list(child.streams):
            if fd in self.selector.get_map():
                self.read_output(child, fd)
                if fd in self.selector.get_map():
                    self.selector.unregister(fd)
        self.selector.unregister(child.pidfd)
        child.close()
        del self.children[child.ref]
        self.is_dirty = True
        now = time.monotonic()
        if child.is_stopping:
            logger.info("sensor=%s stopped", child.ref)
            self.guard(services.record_sensors_stopped, [child.ref])
            return
        if now - child.started_at >= STABLE_AFTER_SECONDS:
            self.failures.pop(child.ref, None)
        error = child.error_text()
        # Its stderr is already in the log, line by line; name the failure once more.
        logger.warning("sensor=%s crashed: %s", child.ref, error.splitlines()[-1])
        self.back_off(child.ref, now, error)

    def back_off(self, ref: str, now: float, error: str) -> None:
        """Schedule a respawn after 1, 2, 4 ... up to 60 seconds."""
        failures = self.failures.get(ref, 0) + 1
        self.failures[ref] = failures
        self.respawn_at[ref] = now + min(BACKOFF_MAX_SECONDS, 2.0 ** (failures - 1))
        self.guard(services.record_sensor_crashed, ref, error)

    def update_triggers(self) -> None:
        """Tell running sensors about rules that started, changed or stopped using their
        trigger types."""
        for child in self.children.values():
            if child.is_stopping or not child.launch.trigger_types:
                continue
            current = services.triggers_for(child.launch.trigger_types)
            for key, trigger in current.items():
                if key not in child.triggers:
                    child.send_event("add", trigger)
                elif child.triggers[key] != trigger:
                    child.send_event("update", trigger)
            for key in child.triggers.keys() - current.keys():
                child.send_event("remove", child.triggers[key])
            child.triggers = current

    def guard(self, function, *args, **kwargs) -> None:
        """Record state in the database; an outage is logged, never fatal to the sensors."""
        try:
            function(*args, **kwargs)
        except DatabaseError:
            logger.exception("could not record sensor state")

    def shutdown(self) -> None:
        """SIGTERM every sensor, wait for them up to the grace period, SIGKILL the rest."""
        self.selector.unregister(self.wake_read)
        self.guard(services.record_sensors_stopped, list(self.respawn_at))
        for child in self.children.values():
            child.stop(settings.ATTUNE_KILL_GRACE_SECONDS)
        deadline = time.monotonic() + settings.ATTUNE_KILL_GRACE_SECONDS
        while self.children and time.monotonic() < deadline:
            for key, _ in self.selector.select(max(0.0, deadline - time.monotonic())):
                kind, ref = key.data
                if kind == "exited":
                    self.reap(self.children[ref])
                elif kind == "output":
                    self.read_output(self.children[ref], key.fd)
        for child in list(self.children.values()):
            child.signal(signal.SIGKILL)
            self.reap(child)
        self.selector.close()
        os.close(self.wake_read)
