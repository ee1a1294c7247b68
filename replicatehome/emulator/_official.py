"""The official API's predictions under ``/v1``: three ways to create, list, get, cancel, stream.

Every route answers errors with RFC 7807 problem details, and asks for a token first. Predictions
are the same ones the homepage protocol makes (one store, one state machine); only the ``urls``
differ: ``get``, ``cancel``, ``web``, and ``stream`` for models that can stream. The prediction
object follows the API reference: ``started_at`` and ``completed_at`` are left out until they
have a value, ``source`` tells how it was created, ``deadline`` and ``deployment`` are there when
they apply. Models, versions, deployments and the webhook secret are in ``_official_resources.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..catalog import ModelSpec
from ..errors import InputProblem
from ._auth import authenticated
from ._backend import Backend, InputError
from ._bodies import BodyError, read_json_object
from ._cancel_after import parse_cancel_after
from ._faults import RouteName
from ._files import file_url
from ._pagination import page_body, paginate, parse_cursor
from ._responses import input_problems, problem
from ._routing import Endpoint, RouteSpec
from ._sse import EventStream
from ._state import RUNNING, Record, advance, render
from ._wait import hold, parse_prefer_wait
from ._webhooks import WebhookError, parse_webhook

if TYPE_CHECKING:
    from pydantic import JsonValue

__all__ = ["OfficialRoutes", "model_not_found", "prediction_object"]

NOT_PERMITTED: Final = "(or perhaps you don't have permission to use it?)"
_MAX_DATE_LENGTH: Final = 64


def prediction_object(
    backend: Backend, record: Record, base: str, *, now: float | None = None
) -> dict[str, JsonValue]:
    """The ``/v1`` prediction object at clock reading `now` (default: now); `base` is the URL
    the client used, without a trailing slash, for absolute links."""
    here = f"{base}/v1/predictions/{record.id}"
    urls = {"get": here, "cancel": f"{here}/cancel"}
    if backend.streams(record.model):
        urls["stream"] = f"{here}/stream"
    urls["web"] = f"https://replicate.com/p/{record.id}"
    body = render(backend.store, record, urls=urls, file_url=file_url(base), now=now)
    for moment in ("started_at", "completed_at"):
        if body[moment] is None:
            del body[moment]
    body["source"] = record.source
    if record.deadline is not None:
        body["deadline"] = backend.store.timestamp(record.deadline)
    if record.deployment is not None:
        body["deployment"] = record.deployment
    return body


class OfficialRoutes:
    """The ``/v1`` prediction routes. They only parse requests and pick status codes.

    - ``POST /v1/models/{owner}/{name}/predictions``, ``POST /v1/predictions`` (by version) and
      ``POST /v1/deployments/{owner}/{name}/predictions``: create (201), holding the answer with
      ``Prefer: wait``, canceling at a ``Cancel-After`` deadline, delivering webhooks;
    - ``GET /v1/predictions``: the list, newest first, by cursor pages;
    - ``GET /v1/predictions/{id}``, ``POST /v1/predictions/{id}/cancel``;
    - ``GET /v1/predictions/{id}/stream``: server-sent events, text models only.
    """

    def __init__(self, backend: Backend) -> None:
        """Serve `backend`'s predictions."""
        self._backend = backend

    def routes(self) -> list[RouteSpec]:
        """The routes, for the app to guard and mount."""
        prediction = "/v1/predictions/{prediction_id}"
        routes: list[tuple[str, RouteName, Endpoint, str]] = [
            ("/v1/models/{owner}/{name}/predictions", "create", self._create_by_model, "POST"),
            ("/v1/predictions", "create", self._create_by_version, "POST"),
            (
                "/v1/deployments/{owner}/{name}/predictions",
                "create",
                self._create_by_deployment,
                "POST",
            ),
            ("/v1/predictions", "list", self._list, "GET"),
            (prediction, "poll", self._get, "GET"),
            (f"{prediction}/cancel", "cancel", self._cancel, "POST"),
            (f"{prediction}/stream", "stream", self._stream, "GET"),
        ]
        return [
            RouteSpec(path, name, authenticated(self._backend, endpoint), method, "official")
            for path, name, endpoint, method in routes
        ]

    # --- creating -------------------------------------------------------------------------------

    async def _create_by_model(self, request: Request) -> Response:
        owner, name = request.path_params["owner"], request.path_params["name"]
        spec = self._backend.models.get(f"{owner}/{name}")
        if spec is None:
            return model_not_found(request, self._backend.models)
        body = await _read_object(request)
        if isinstance(body, Response):
            return body
        return await self._create(request, spec, self._backend.version_of(spec), body)

    async def _create_by_deployment(self, request: Request) -> Response:
        deployment = f"{request.path_params['owner']}/{request.path_params['name']}"
        spec = self._backend.deployments.get(deployment)
        if spec is None:
            return problem(
                404,
                "Deployment not found",
                f"The requested deployment {deployment} does not exist {NOT_PERMITTED}.",
                instance=request.url.path,
            )
        body = await _read_object(request)
        if isinstance(body, Response):
            return body
        version = self._backend.version_of(spec)
        return await self._create(request, spec, version, body, deployment=deployment)

    async def _create_by_version(self, request: Request) -> Response:
        body = await _read_object(request)
        if isinstance(body, Response):
            return body
        reference = body.get("version")
        spec: ModelSpec | None = None
        version_id = ""
        if isinstance(reference, str):
            # "<64-hex>", or "owner/name:<64-hex>" where the name must match the version's model.
            name, _, version_id = reference.rpartition(":")
            spec = self._backend.model_for_version(version_id)
            if spec is not None and name and name != spec.name:
                spec = None
        if spec is None:
            return problem(
                422,
                "Invalid version or not permitted",
                f"The specified version does not exist {NOT_PERMITTED}",
                instance=request.url.path,
            )
        return await self._create(request, spec, version_id, body)

    async def _create(
        self,
        request: Request,
        spec: ModelSpec,
        version: str,
        body: Mapping[str, JsonValue],
        *,
        deployment: str | None = None,
    ) -> Response:
        """Validate the input and the headers, create, and hold if asked to."""
        try:
            wait = parse_prefer_wait(request.headers.get("prefer"))
        except ValueError as error:
            return problem(400, "Invalid Prefer header", str(error), instance=request.url.path)
        try:
            cancel_after = parse_cancel_after(request.headers.get("cancel-after"))
        except ValueError as error:
            return problem(
                422, "Invalid Cancel-After header", str(error), instance=request.url.path
            )
        inputs = body.get("input")
        if not isinstance(inputs, dict):
            given = "null" if inputs is None else type(inputs).__name__
            return _invalid(request, "input", f"Invalid type. Expected: object, given: {given}")
        try:
            parsed = self._backend.parse_input(spec, inputs)
            webhook = parse_webhook(body)
        except InputError as error:
            return _invalid_input(request, error.problems)
        except WebhookError as error:
            return _invalid(request, error.field, f"{error.field} {error.problem}")
        # Other fields ("stream", ...) are accepted and ignored, as the real API does with what
        # it does not need: every text prediction can be streamed.
        record = self._backend.create(
            spec, version, inputs, parsed, cancel_after=cancel_after, deployment=deployment
        )
        base = str(request.base_url).rstrip("/")
        if webhook is not None:
            backend = self._backend
            self._backend.webhooks.watch(
                record, webhook, lambda r, now: prediction_object(backend, r, base, now=now)
            )
        if wait is None:
            return JSONResponse(prediction_object(self._backend, record, base), status_code=201)
        await hold(self._backend, record.id, wait)
        record = self._backend.store.get(record.id) or record  # a cancel replaced it, maybe
        # One that has not ended in time comes back as it was created, "starting", as the API
        # reference says: clients then poll, rather than take partial output for the result.
        finished = advance(record, self._backend.store.clock()).status not in RUNNING
        at = None if finished else record.created
        body_out = prediction_object(self._backend, record, base, now=at)
        return JSONResponse(body_out, status_code=201, headers={"Preference-Applied": "wait"})

    # --- predictions ----------------------------------------------------------------------------

    async def _list(self, request: Request) -> Response:
        query = request.query_params
        try:
            cursor = parse_cursor(query.get("cursor"))
            after = _moment(query.get("created_after"))
            before = _moment(query.get("created_before"))
        except ValueError as error:
            return problem(400, "Bad request", str(error), instance=request.url.path)
        source = query.get("source")
        if source not in (None, "web"):
            return problem(
                400, "Bad request", "source can only be 'web'.", instance=request.url.path
            )
        store = self._backend.store

        def wanted(record: Record) -> bool:
            created = store.wall(record.created)
            return (
                (source is None or record.source == source)
                and (after is None or created >= after)
                and (before is None or created < before)
            )

        records = [record for record in store.newest_first() if wanted(record)]
        page = paginate(records, lambda record: record.seq, cursor)
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            page_body(request.url, page, lambda r: prediction_object(self._backend, r, base))
        )

    async def _get(self, request: Request) -> Response:
        record = self._backend.poll(request.path_params["prediction_id"])
        if record is None:
            return _prediction_not_found(request)
        return self._prediction(request, record)

    async def _cancel(self, request: Request) -> Response:
        record = self._backend.store.cancel(request.path_params["prediction_id"])
        if record is None:
            return _prediction_not_found(request)
        return self._prediction(request, record)

    async def _stream(self, request: Request) -> Response:
        record = self._backend.store.get(request.path_params["prediction_id"])
        if record is None:
            return _prediction_not_found(request)
        if not self._backend.streams(record.model):
            return problem(
                404,
                "Not found",
                f"Model {record.model.name} does not support streaming: its predictions have no "
                "stream.",
                instance=request.url.path,
            )
        return EventStream(self._backend, record.id)

    def _prediction(self, request: Request, record: Record) -> Response:
        # Absolute URLs from the request's own base, so they work on whatever host and port
        # the client used.
        base = str(request.base_url).rstrip("/")
        return JSONResponse(prediction_object(self._backend, record, base))


def _moment(text: str | None) -> float | None:
    """An ISO 8601 date-time query parameter as Unix time (UTC when it names no zone)."""
    if text is None:
        return None
    try:
        if len(text) > _MAX_DATE_LENGTH:
            raise ValueError
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text[:_MAX_DATE_LENGTH]!r} is not an ISO 8601 date-time.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


async def _read_object(request: Request) -> dict[str, JsonValue] | Response:
    """The request's JSON object body, or the 400 or 413 problem to answer instead."""
    try:
        return await read_json_object(request)
    except BodyError as error:
        return problem(error.status_code, error.title, error.detail, instance=request.url.path)


def _invalid(request: Request, where: str, description: str, field: str | None = None) -> Response:
    """A 422 for a body field (`where`: ``input``, ``webhook``...), and the `field` inside it."""
    # The real API lists the fields machine-readably too, in "invalid_fields".
    return problem(
        422,
        "Input validation failed",
        f"- {where}: {description}",
        instance=request.url.path,
        extra={
            "invalid_fields": [
                {"type": "invalid", "field": field or where, "description": description}
            ]
        },
    )


def _invalid_input(request: Request, problems: tuple[InputProblem, ...]) -> Response:
    """The 422 for an input that does not fit its model: every field that is wrong, and why."""
    return problem(
        422,
        "Input validation failed",
        input_problems(problems),
        instance=request.url.path,
        extra={
            "invalid_fields": [
                {"type": "invalid", "field": f"input.{each.field}", "description": each.message}
                for each in problems
            ]
        },
    )


def model_not_found(request: Request, known: Iterable[str]) -> Response:
    """The 404 for a ``/v1/models/{owner}/{name}...`` route of a model the emulator lacks."""
    owner, name = request.path_params["owner"], request.path_params["name"]
    return problem(
        404,
        "Model not found",
        f"The requested model {owner}/{name} does not exist {NOT_PERMITTED}. "
        f"Available models: {', '.join(known)}.",
        instance=request.url.path,
    )


def _prediction_not_found(request: Request) -> Response:
    return problem(
        404,
        "Not found",
        f"Prediction {request.path_params['prediction_id']} not found",
        instance=request.url.path,
    )
