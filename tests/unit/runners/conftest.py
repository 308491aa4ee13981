"""A stand-in for the worker side of a running action, shared by the runner tests."""

import os
from dataclasses import dataclass, field

import pytest


@dataclass
class FakeControl:
    """Stands in for the worker: a cancel pipe, a heartbeat counter and the output chunks."""

    heartbeat_seconds: float = 60.0
    heartbeats: int = 0
    chunks: list = field(default_factory=list)
    cancel_fd: int = field(init=False)
    cancel_write_fd: int = field(init=False)

    def __post_init__(self):
        self.cancel_fd, self.cancel_write_fd = os.pipe()

    def heartbeat(self) -> None:
        self.heartbeats += 1

    def output(self, stream: str, chunk: bytes) -> None:
        self.chunks.append((stream, chunk))

    def cancel(self) -> None:
        os.write(self.cancel_write_fd, b"x")

    def close(self) -> None:
        os.close(self.cancel_fd)
        os.close(self.cancel_write_fd)


@pytest.fixture
def control():
    fake = FakeControl()
    yield fake
    fake.close()
