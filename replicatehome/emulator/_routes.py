"""Every route of the emulator, in one table of Starlette routes, and the guard each runs behind.

The guard counts each request under its route name (`RouteName`), then applies the request-level
faults in force for that name (latency, 429, 5xx, dropped connection, ``text/plain`` bodies)
before or instead of the endpoint, and asks ``/v1`` requests for a token: endpoints never see a
faulted or unauthenticated request. Endpoints take the app and the request: they parse the
request, read or change the app's state, and pick a status code.
"""

from __future__ import annotations

import http
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from functools import partial

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from . import _files, _homepage, _official, _resources
from ._app import EmulatorApp
from ._faults import RouteName
from ._requests import MAX_BODY_BYTES
from ._responses import JSON_MEDIA_TYPES, fault_response, is_official, json_error, problem

__all__ = ["Endpoint", "router"]

Endpoint = Callable[[EmulatorApp, Request], Awaitable[Response]]
"""What every route calls: it answers a request from the app's state."""


def router(app: EmulatorApp) -> Starlette:
    """`app`'s router: its routes, JSON errors, and webhooks stopped at shutdown."""

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await app.aclose()

    return Starlette(
        routes=_routes(app), exception_handlers={HTTPException: _http_error}, lifespan=lifespan
    )


def _routes(app: EmulatorApp) -> list[Route]:
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
