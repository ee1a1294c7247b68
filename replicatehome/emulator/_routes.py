"""Every route of the emulator, in one table of Starlette routes, and the guard each runs behind.

The guard counts each request under its route name (`RouteName`), then applies the request-level
faults in force for that name before or instead of the endpoint: latency, a 429 in the style of
the route's protocol, a 5xx (an HTML page on both: it comes from a proxy in front of either), a
dropped connection, ``text/plain`` bodies. Then it asks ``/v1`` requests for a token: endpoints
never see a faulted or unauthenticated request. Endpoints take the app and the request: they
parse the request, read or change the app's state, and pick a status code.
"""

from __future__ import annotations

import http
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from functools import partial
from typing import Final

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from . import _files, _homepage, _official, _resources
from ._app import EmulatorApp
from ._faults import Faults, RequestFault, RouteName
from ._requests import MAX_BODY_BYTES
from ._responses import PROBLEM_MEDIA_TYPE, is_official, json_error, problem

__all__ = ["JSON_MEDIA_TYPES", "DroppedResponse", "Endpoint", "fault_response", "router"]

JSON_MEDIA_TYPES: Final = frozenset({"application/json", PROBLEM_MEDIA_TYPE})
"""The media types of JSON bodies, the ones `Faults.text_plain` relabels."""

Endpoint = Callable[[EmulatorApp, Request], Awaitable[Response]]
"""What every route calls: it answers a request from the app's state."""


def router(app: EmulatorApp) -> Starlette:
    """`app`'s router: its routes, JSON errors, and webhooks stopped at shutdown."""

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await app.aclose()

    return Starlette(
        routes=_table(app), exception_handlers={HTTPException: _http_error}, lifespan=lifespan
    )


def _table(app: EmulatorApp) -> list[Route]:
    """The emulator's routes, serving `app`."""
    route = partial(_route, app)
    model = "/v1/models/{owner}/{name}"
    deployment = "/v1/deployments/{owner}/{name}"
    prediction = "/v1/predictions/{prediction_id}"
    file = "/v1/files/{file_id}"
    return [
        route("/api/prediction", POST=("create", _homepage.create)),
        route("/api/poll", GET=("poll", _homepage.poll)),
        route("/files/{prediction_id}/{name}", GET=("file", _homepage.image_file)),
        route(f"{model}/predictions", POST=("create", _official.create_by_model)),
        route(
            "/v1/predictions",
            POST=("create", _official.create_by_version),
            GET=("list", _official.list_predictions),
        ),
        route(f"{deployment}/predictions", POST=("create", _official.create_by_deployment)),
        route(prediction, GET=("poll", _official.get)),
        route(f"{prediction}/cancel", POST=("cancel", _official.cancel)),
        route(f"{prediction}/stream", GET=("stream", _official.stream)),
        route(model, GET=("model", _resources.model)),
        route(f"{model}/versions", GET=("model", _resources.versions)),
        route(f"{model}/versions/{{version_id}}", GET=("model", _resources.version)),
        route(deployment, GET=("model", _resources.deployment)),
        route("/v1/webhooks/default/secret", GET=("account", _resources.webhook_secret)),
        route("/v1/files", POST=("uploads", _files.create), GET=("uploads", _files.list_files)),
        route(file, GET=("uploads", _files.get), DELETE=("uploads", _files.delete)),
        # The link's signature is the credential.
        route(f"{file}/download", GET=("uploads", _files.download), token=False),
    ]


def _route(
    app: EmulatorApp, path: str, *, token: bool = True, **methods: tuple[RouteName, Endpoint]
) -> Route:
    """The route of `path`: each method's endpoint behind the guard of its route name.

    One route takes every method of a path, so that a method it does not take gets a 405
    whose ``Allow`` lists them all. A ``/v1`` route asks for a token unless `token` is false.
    """
    token = token and is_official(path)
    guarded = {
        method: _guarded(app, name, endpoint, token=token)
        for method, (name, endpoint) in methods.items()
    }
    if "GET" in guarded:
        guarded["HEAD"] = guarded["GET"]

    async def dispatch(request: Request) -> Response:
        return await guarded[request.method](request)

    return Route(path, dispatch, methods=list(guarded))


def _guarded(
    app: EmulatorApp, name: RouteName, endpoint: Endpoint, *, token: bool
) -> Callable[[Request], Awaitable[Response]]:
    """`endpoint` behind the counters and faults of route `name`, and the token check."""

    async def guarded(request: Request) -> Response:
        app.stats.count_request(name)
        faults, fault = app.injector.for_request(name)
        active = name in faults.routes
        if active and faults.slow_seconds:
            await anyio.sleep(faults.slow_seconds)
        if fault is None:
            refusal = _refusal(app, request) if token else None
            try:
                response = refusal if refusal is not None else await endpoint(app, request)
            except ClientDisconnect:
                # The client gave up (its timeout beat `slow_seconds`): nobody to answer.
                return Response(status_code=499)
        else:
            app.stats.count_fault(fault.kind)
            await _drain(request)
            response = fault_response(
                fault, faults, instance=request.url.path, streaming=name == "stream"
            )
        if active and faults.text_plain and response.media_type in JSON_MEDIA_TYPES:
            response.headers["content-type"] = "text/plain; charset=utf-8"
        return response

    return guarded


def _refusal(app: EmulatorApp, request: Request) -> Response | None:
    """The 401 for a request without an accepted token, or ``None``. Tokens are never echoed."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    # "Token" is the scheme Replicate's API documented first, which older clients still send.
    if scheme.lower() not in ("bearer", "token") or not token:
        return _unauthenticated(request, "You did not pass an authentication token")
    accepted = app.config.api_tokens
    if accepted is not None and token not in accepted:
        return _unauthenticated(
            request, "You did not pass a valid authentication token", title="Invalid token"
        )
    return None


def _unauthenticated(request: Request, detail: str, *, title: str = "Unauthenticated") -> Response:
    return problem(
        401, title, detail, instance=request.url.path, headers={"WWW-Authenticate": "Bearer"}
    )


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


def fault_response(
    fault: RequestFault,
    faults: Faults,
    *,
    instance: str,
    streaming: bool = False,
) -> Response:
    """The answer that injects `fault`, in the style of the protocol of path `instance`.

    Args:
        fault: The fault the dice picked.
        faults: The faults in force, for ``retry_after``.
        instance: The request path: whose error style a 429 follows, and a problem's
            ``instance``.
        streaming: The route is an event stream, so a drop cuts a stream of events.
    """
    if fault.kind == "rate_limit":
        seconds = faults.retry_after
        header = str(int(seconds)) if seconds == int(seconds) else str(seconds)
        detail = f"Request was throttled. Your rate limit resets in ~{math.ceil(seconds)}s."
        headers = {"Retry-After": header}
        if is_official(instance):
            return problem(429, "Request was throttled", detail, instance=instance, headers=headers)
        return JSONResponse({"detail": detail}, status_code=429, headers=headers)
    if fault.kind == "server_error":
        title = f"{fault.status} {http.HTTPStatus(fault.status).phrase}"
        page = (
            f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
            "</body>\r\n</html>\r\n"
        )
        return HTMLResponse(page, status_code=fault.status)
    if streaming:
        return DroppedResponse(
            "text/event-stream", b"event: logs\nid: 1\ndata: Starting prediction\n\nevent: out"
        )
    return DroppedResponse("application/json", b'{"id": "', length=4096)


class DroppedResponse(Response):
    """Starts an answer, then hangs up mid-body, like a connection reset by a proxy.

    It sends `partial` and returns without ending the body: the server then closes the
    connection, and the client sees an incomplete message (``httpx.RemoteProtocolError``). With
    a `length`, the body promises that many bytes; without, it is chunked, like an event stream.
    """

    def __init__(self, media_type: str, partial: bytes, *, length: int | None = None) -> None:
        """Prepare the answer; nothing is sent until it is called."""
        headers = {"content-type": media_type}
        if length is not None:
            headers["content-length"] = str(length)
        self.status_code = 200
        self.media_type = media_type
        self.background = None
        self.init_headers(headers)
        self._partial = partial

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the headers and the partial body, then stop."""
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self._partial, "more_body": True})


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths and wrong methods get JSON errors too, in each protocol's style."""
    assert isinstance(exc, HTTPException)
    if is_official(request.url.path):
        title = http.HTTPStatus(exc.status_code).phrase
        return problem(
            exc.status_code, title, exc.detail, instance=request.url.path, headers=exc.headers
        )
    response = json_error(exc.status_code, exc.detail)
    response.headers.update(exc.headers or {})
    return response
