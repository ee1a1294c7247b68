"""Routes as the protocol modules declare them, and the guard every route runs behind.

The guard counts each request under its route name, then applies the request-level faults in
force for that name (latency, 429, 5xx, dropped connection, ``text/plain`` bodies) before or
instead of the endpoint. Endpoints never see a faulted request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass

import anyio
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from ._backend import Backend
from ._bodies import MAX_BODY_BYTES
from ._faults import RouteName
from ._responses import JSON_MEDIA_TYPES, Protocol, fault_response

__all__ = ["Endpoint", "RouteSpec", "guarded_routes"]

Endpoint = Callable[[Request], Awaitable[Response]]
"""A Starlette endpoint."""


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """One route: its path, its name for faults and counters, its endpoint, method and protocol."""

    path: str
    name: RouteName
    endpoint: Endpoint
    method: str
    protocol: Protocol


async def _drain(request: Request) -> None:
    """Read what a faulted request sent, up to a cap, so its keep-alive connection stays usable.

    An answer sent before the body is read makes the server close the connection without
    saying so, and a client that reuses it sees a disconnect instead of the fault.
    """
    seen = 0
    with suppress(ClientDisconnect):
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > MAX_BODY_BYTES:
                break


def guarded_routes(backend: Backend, specs: list[RouteSpec]) -> list[Route]:
    """Make Starlette routes of `specs`, each behind the counters and faults of its name.

    Specs of one path share a route that dispatches on the method, so that a method none of
    them takes gets a 405 whose ``Allow`` lists all of theirs.
    """
    by_path: dict[str, dict[str, Endpoint]] = {}
    names: dict[str, str] = {}
    for spec in specs:
        by_path.setdefault(spec.path, {})[spec.method] = _guarded(backend, spec)
        names.setdefault(spec.path, f"{spec.protocol}.{spec.name}")
    routes: list[Route] = []
    for path, endpoints in by_path.items():
        if "GET" in endpoints:
            endpoints.setdefault("HEAD", endpoints["GET"])

        async def dispatch(
            request: Request, endpoints: dict[str, Endpoint] = endpoints
        ) -> Response:
            return await endpoints[request.method](request)

        routes.append(Route(path, dispatch, methods=list(endpoints), name=names[path]))
    return routes


def _guarded(backend: Backend, spec: RouteSpec) -> Endpoint:
    """`spec`'s endpoint behind the counters and faults of its route name."""
    name = spec.name

    async def guarded(request: Request) -> Response:
        backend.stats.count_request(name)
        faults, fault = backend.injector.for_request(name)
        active = name in faults.routes
        if active and faults.slow_seconds:
            await anyio.sleep(faults.slow_seconds)
        if fault is None:
            try:
                response = await spec.endpoint(request)
            except ClientDisconnect:
                # The client gave up (its timeout beat `slow_seconds`): nobody to answer.
                return Response(status_code=499)
        else:
            backend.stats.count_fault(fault.kind)
            await _drain(request)
            response = fault_response(
                fault,
                faults,
                protocol=spec.protocol,
                instance=request.url.path,
                streaming=name == "stream",
            )
        if active and faults.text_plain and response.media_type in JSON_MEDIA_TYPES:
            response.headers["content-type"] = "text/plain; charset=utf-8"
        return response

    return guarded
