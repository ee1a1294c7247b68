"""How far past its deadline a call ends when the server stalls it: the figures of docs/security.md.

Run with ``uv run python benchmarks/deadline.py``. Each scenario points a client at the hostile
test server (tests/hostile/server.py, on 127.0.0.1) with a 0.5 s deadline and prints how long
after the deadline the call raised, and what.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from replicatehome import AsyncClient, Client, ReplicateHomeError
from replicatehome._backends import BACKEND_NAMES
from tests.helpers import prediction
from tests.hostile.server import HostileServer, event_stream, respond, running, trickle

DEADLINE = 0.5
SCENARIOS = ("create-headers", "create-body", "poll-body", "stream-keep-alives")


def script(server: HostileServer, protocol: str, scenario: str) -> None:
    """Make `server` stall the call as `scenario` says: a byte every 20 ms, or keep-alives."""
    create = "/api/prediction" if protocol == "homepage" else "/v1/"
    poll = "/api/poll" if protocol == "homepage" else "/v1/predictions/"
    if scenario == "create-headers":
        server.route("POST", create, trickle(0.02, headers_too=True))
    elif scenario == "create-body":
        server.route("POST", create, trickle(0.02))
    elif scenario == "poll-body":
        server.route("POST", create, respond(201, prediction()))
        server.route("GET", poll, trickle(0.02))
    else:
        urls = {"stream": f"{server.url}/stream/p1"}
        server.route("POST", create, respond(201, prediction("processing", urls=urls)))
        server.route("GET", poll, respond(200, prediction("processing", urls=urls)))
        server.route("GET", "/stream/", event_stream(b"", b": keep-alive\n\n", 0.02))


async def measure(mode: str, protocol: str, scenario: str) -> tuple[str, float]:
    """The error a stalled ``generate_text`` raised, and how many seconds past the deadline."""
    with running() as server:
        script(server, protocol, scenario)
        token = "r8_bench" if protocol == "official" else None
        options = {"base_url": server.url, "backend": protocol, "api_token": token}
        client = (Client if mode == "sync" else AsyncClient)(**options, wait_timeout=DEADLINE)  # type: ignore[arg-type]
        started = time.monotonic()
        try:
            if isinstance(client, Client):
                client.generate_text("hi")
            else:
                await client.generate_text("hi")
            error = "none"
        except ReplicateHomeError as exc:
            error = type(exc).__name__
        ended = time.monotonic()
        if isinstance(client, Client):
            client.close()
        else:
            await client.aclose()
        return error, ended - started - DEADLINE


async def main() -> None:
    """Print the table."""
    print("| stall | protocol | client | raised | ended past the deadline |")
    print("|---|---|---|---|---|")
    for scenario in SCENARIOS:
        for protocol in BACKEND_NAMES:
            if scenario == "stream-keep-alives" and protocol == "homepage":
                continue  # the homepage has no event stream
            for mode in ("sync", "async"):
                error, late = await measure(mode, protocol, scenario)
                print(f"| {scenario} | {protocol} | {mode} | {error} | {late * 1000:.0f} ms |")


if __name__ == "__main__":
    asyncio.run(main())
