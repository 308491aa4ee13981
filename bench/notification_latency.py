"""Live notification latency: status change committed -> received by subscribed WebSocket
clients, with 1, 100 and 1,000 clients on one web server process; and output chunk printed ->
received.

On the real stack (one web process, one actions worker): every client subscribes to
`execution.updated` of `core.noop`; executions are requested one at a time. Latency of a delivery
= the client's receive time - the event's `at` (stamped in the transaction just before it
commits). For output: a `core.local` action prints its clock every 50 ms; latency = receive time
- the printed time. Clients run in this process on one asyncio loop (they share the
machine with the server, so 1,000 clients also measure the clients' own cost).

Goal (issue #7): p99 <= 50 ms at 1,000 clients on one server process.

Run: .venv/bin/python bench/notification_latency.py [--clients 1,100,1000] [--executions 30]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import time  # noqa: E402
from datetime import datetime  # noqa: E402

import requests  # noqa: E402
from websockets.client import ClientProtocol  # noqa: E402
from websockets.frames import Opcode  # noqa: E402
from websockets.http11 import Response  # noqa: E402
from websockets.uri import parse_uri  # noqa: E402

from bench import stack  # noqa: E402
from bench.actions_throughput import (  # noqa: E402
    create_user,
    distribution_ms,
    get_token,
    start_attune,
)

GOAL_P99_MS = 50.0
BENCH_DB_NAME = "attune_bench_notifications"
PRINT_CLOCK = (
    'python3 -c "import time\nfor _ in range(40): print(time.time(), flush=True); time.sleep(0.05)"'
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,100,1000", help="client counts to try")
    parser.add_argument("--executions", type=int, default=30, help="executions per client count")
    parser.add_argument("--out", type=Path, help="JSON results file (default: in the data dir)")
    return parser.parse_args(argv)


class RecordingClient(asyncio.Protocol):
    """A subscribed connection that only records when bytes arrive; frames are parsed after
    the run, so the clients' own cost stays out of the measured latency."""

    def __init__(self, protocol: ClientProtocol):
        self.protocol = protocol
        self.chunks: list[tuple[float, bytes]] = []

    def data_received(self, data: bytes) -> None:
        self.chunks.append((time.time(), data))

    def messages(self) -> list[tuple[float, str]]:
        """(time the message's last byte arrived, text) for each message received."""
        found = []
        for received_at, data in self.chunks:
            self.protocol.receive_data(data)
            for frame in self.protocol.events_received():
                if frame.opcode == Opcode.TEXT:
                    found.append((received_at, frame.data.decode()))
        return found

    def discard(self) -> None:
        """Forget what arrived so far (the warm-up's messages)."""
        self.messages()
        self.chunks.clear()


def subscribed_socket(env, token: str, event_filter: dict) -> tuple[socket.socket, ClientProtocol]:
    """Open a connection, subscribe, and return the socket once the server acknowledged."""
    sock = socket.create_connection(("127.0.0.1", env.port))
    protocol = ClientProtocol(parse_uri(env.base_url.replace("http", "ws") + "/ws/stream/"))
    request = protocol.connect()
    request.headers["Authorization"] = f"Bearer {token}"
    protocol.send_request(request)
    sock.sendall(b"".join(protocol.data_to_send()))
    subscribed = False
    while not subscribed:
        protocol.receive_data(sock.recv(65536))
        for item in protocol.events_received():
            if isinstance(item, Response):
                protocol.send_text(
                    json.dumps({"type": "subscribe", "filter": event_filter}).encode()
                )
                sock.sendall(b"".join(protocol.data_to_send()))
            elif '"subscribed"' in item.data.decode():
                subscribed = True
    return sock, protocol


async def open_clients(env, token: str, count: int, event_filter: dict) -> list:
    loop = asyncio.get_running_loop()
    clients = []
    for _ in range(count):
        sock, protocol = subscribed_socket(env, token, event_filter)
        transport, client = await loop.create_connection(
            lambda protocol=protocol: RecordingClient(protocol), sock=sock
        )
        clients.append((transport, client))
    return clients


async def status_latencies(env, token: str, count: int, executions: int) -> list[float]:
    clients = await open_clients(
        env, token, count, {"events": ["execution.updated"], "action_refs": ["core.noop"]}
    )
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    # Warm-up: the first fan-out to a new set of connections runs cold code paths.
    await asyncio.to_thread(run_and_wait, session, env.base_url, "core.noop", {})
    await asyncio.sleep(1.0)
    for _, client in clients:
        client.discard()
    for _ in range(executions):
        await asyncio.to_thread(run_and_wait, session, env.base_url, "core.noop", {})
    await asyncio.sleep(1.0)  # the last deliveries
    latencies = []
    for transport, client in clients:
        transport.close()
        for received_at, text in client.messages():
            event = json.loads(text)
            if event.get("type") == "execution.updated":
                latencies.append(received_at - datetime.fromisoformat(event["at"]).timestamp())
    return latencies


async def output_latencies(env, token: str) -> list[float]:
    [(transport, client)] = await open_clients(
        env, token, 1, {"events": ["execution.output"], "action_refs": ["core.local"]}
    )
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    await asyncio.to_thread(run_and_wait, session, env.base_url, "core.local", {"cmd": PRINT_CLOCK})
    await asyncio.sleep(0.5)
    transport.close()
    latencies = []
    for received_at, text in client.messages():
        for line in json.loads(text)["payload"]["data"].split():
            latencies.append(received_at - float(line))
    return latencies


def run_and_wait(session, base_url: str, action: str, parameters: dict) -> None:
    """Request an execution through the API and wait for its end by reading the database, so
    the measured web process serves no polling requests of ours meanwhile."""
    from apps.executions.choices import TERMINAL
    from apps.executions.models import Execution

    response = session.post(
        f"{base_url}/api/v1/executions",
        json={"action": action, "parameters": parameters},
        timeout=30,
    )
    response.raise_for_status()
    execution = Execution.objects.filter(pk=response.json()["id"])
    while execution.values_list("status", flat=True).get() not in TERMINAL:
        time.sleep(0.02)


def run(args, env, procs) -> dict:
    start_attune(procs, env, concurrency=2)
    token = get_token(env.base_url)
    results = {"status": {}}
    for count in [int(c) for c in args.clients.split(",")]:
        latencies = asyncio.run(status_latencies(env, token, count, args.executions))
        results["status"][count] = {"deliveries": len(latencies), **distribution_ms(latencies)}
        print(f"  {count} clients: {results['status'][count]}", flush=True)
    latencies = asyncio.run(output_latencies(env, token))
    results["output"] = {"chunks": len(latencies), **distribution_ms(latencies)}
    return results


def report(results: dict) -> None:
    print("\nstatus change committed -> received (ms)")
    print(f"{'clients':>8} {'deliveries':>11} {'p50':>8} {'p99':>8} {'max':>8}")
    for count, row in results["status"].items():
        print(f"{count:>8} {row['deliveries']:>11} {row['p50']:>8} {row['p99']:>8} {row['max']:>8}")
    out = results["output"]
    print(f"\noutput chunk printed -> received: p50 {out['p50']} ms, p99 {out['p99']} ms")
    worst = max(row["p99"] or 0 for row in results["status"].values())
    verdict = "met" if worst <= GOAL_P99_MS else "NOT met"
    print(f"goal p99 <= {GOAL_P99_MS:g} ms at the largest client count: {verdict}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ["ATTUNE_WEB_WORKERS"] = "1"  # the goal is per server process
    stack.stop_on_sigterm()
    stack.BENCH_DB_NAME = BENCH_DB_NAME
    stack.DEFAULT_PG_URL = stack.with_database_name(stack.DEFAULT_PG_URL, BENCH_DB_NAME)
    env = stack.prepare_environment()
    print(
        f"notification_latency: {env.database_kind}, clients {args.clients}, "
        f"{args.executions} executions each, {os.cpu_count()} CPUs",
        flush=True,
    )
    return stack.run_on_stack("notification_latency", args, env, run, report, prepare=[create_user])


if __name__ == "__main__":
    sys.exit(main())
