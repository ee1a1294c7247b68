"""The official API's predictions under ``/v1``: three ways to create, list, get, cancel, stream.

Every route answers errors with RFC 7807 problem details, and asks for a token first. Predictions
are the same ones the homepage protocol makes (one store, one state machine); only the ``urls``
differ: ``get``, ``cancel``, ``web``, and ``stream`` for models that can stream. The prediction
object follows the API reference: ``started_at`` and ``completed_at`` are left out until they
have a value, ``source`` tells how it was created, ``deadline`` and ``deployment`` are there when
they apply. Models, versions, deployments and the webhook secret are in ``_resources.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..catalog import ModelSpec
from ..errors import InputProblem
from ._app import EmulatorApp, create_prediction, poll_prediction, version_of
from ._follow import EventStream, hold
from ._inputs import InputError, parse_input
from ._requests import BodyError, parse_cancel_after, parse_prefer_wait, read_json_object
from ._responses import (
    base_url,
    file_url,
    input_problems,
    page_body,
    paginate,
    parse_cursor,
    problem,
)
from ._state import RUNNING, Record, advance, render
from ._webhooks import WebhookError, parse_webhook

if TYPE_CHECKING:
    from pydantic import JsonValue

__all__ = [
    "cancel",
    "create_by_deployment",
    "create_by_model",
    "create_by_version",
    "deployment_not_found",
    "get",
    "list_predictions",
    "model_not_found",
    "prediction_object",
    "stream",
]

NOT_PERMITTED: Final = "(or perhaps you don't have permission to use it?)"
_MAX_DATE_LENGTH: Final = 64


def prediction_object(
    app: EmulatorApp, record: Record, base: str, *, now: float | None = None
) -> dict[str, JsonValue]:
    """The ``/v1`` prediction object at clock reading `now` (default: now); `base` is the URL
    the client used, without a trailing slash, for absolute links."""
    here = f"{base}/v1/predictions/{record.id}"
    urls = {"get": here, "cancel": f"{here}/cancel"}
    if _streams(record.model):
        urls["stream"] = f"{here}/stream"
    urls["web"] = f"https://replicate.com/p/{record.id}"
    body = render(app.store, record, urls=urls, file_url=file_url(base), now=now)
    for moment in ("started_at", "completed_at"):
        if body[moment] is None:
            del body[moment]
    body["source"] = record.source
    if record.deadline is not None:
        body["deadline"] = app.store.timestamp(record.deadline)
    if record.deployment is not None:
        body["deployment"] = record.deployment
    return body


async def create_by_model(app: EmulatorApp, request: Request) -> Response:
    """``POST /v1/models/{owner}/{name}/predictions``."""
    owner, name = request.path_params["owner"], request.path_params["name"]
    spec = app.models.get(f"{owner}/{name}")
    if spec is None:
        return model_not_found(request, app.models)
    body = await _read_object(request)
    if isinstance(body, Response):
        return body
    return await _create(app, request, spec, version_of(spec), body)


async def create_by_deployment(app: EmulatorApp, request: Request) -> Response:
    """``POST /v1/deployments/{owner}/{name}/predictions``."""
    deployment = f"{request.path_params['owner']}/{request.path_params['name']}"
    spec = app.deployments.get(deployment)
    if spec is None:
        return deployment_not_found(request)
    body = await _read_object(request)
    if isinstance(body, Response):
        return body
    version = version_of(spec)
    return await _create(app, request, spec, version, body, deployment=deployment)


async def create_by_version(app: EmulatorApp, request: Request) -> Response:
    """``POST /v1/predictions``, with a ``version`` in the body."""
    body = await _read_object(request)
    if isinstance(body, Response):
        return body
    reference = body.get("version")
    spec: ModelSpec | None = None
    version_id = ""
    if isinstance(reference, str):
        # "<64-hex>", or "owner/name:<64-hex>" where the name must match the version's model.
        name, _, version_id = reference.rpartition(":")
        spec = app.versions.get(version_id)
        if spec is not None and name and name != spec.name:
            spec = None
    if spec is None:
        return problem(
            422,
            "Invalid version or not permitted",
            f"The specified version does not exist {NOT_PERMITTED}",
            instance=request.url.path,
        )
    return await _create(app, request, spec, version_id, body)


async def _create(
    app: EmulatorApp,
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
        return problem(422, "Invalid Cancel-After header", str(error), instance=request.url.path)
    inputs = body.get("input")
    if not isinstance(inputs, dict):
        given = "null" if inputs is None else type(inputs).__name__
        return _invalid(request, "input", f"Invalid type. Expected: object, given: {given}")
    try:
        parsed = parse_input(app.config, spec, inputs)
        webhook = parse_webhook(body)
    except InputError as error:
        return _invalid_input(request, error.problems)
    except WebhookError as error:
        return _invalid(request, error.field, f"{error.field} {error.problem}")
    # Other fields ("stream", ...) are accepted and ignored, as the real API does with what
    # it does not need: every text prediction can be streamed.
    record = create_prediction(
        app, spec, version, inputs, parsed, cancel_after=cancel_after, deployment=deployment
    )
    base = base_url(request)
    if webhook is not None:
        app.webhooks.watch(record, webhook, lambda r, now: prediction_object(app, r, base, now=now))
    if wait is None:
        return JSONResponse(prediction_object(app, record, base), status_code=201)
    await hold(app, record.id, wait)
    record = app.store.get(record.id) or record  # a cancel replaced it, maybe
    # One that has not ended in time comes back as it was created, "starting", as the API
    # reference says: clients then poll, rather than take partial output for the result.
    finished = advance(record, app.store.clock()).status not in RUNNING
    at = None if finished else record.created
    body_out = prediction_object(app, record, base, now=at)
    return JSONResponse(body_out, status_code=201, headers={"Preference-Applied": "wait"})


async def list_predictions(app: EmulatorApp, request: Request) -> Response:
    """``GET /v1/predictions``: newest first, by cursor pages, filtered by source and time."""
    query = request.query_params
    try:
        cursor = parse_cursor(query.get("cursor"))
        after = _moment(query.get("created_after"))
        before = _moment(query.get("created_before"))
    except ValueError as error:
        return problem(400, "Bad request", str(error), instance=request.url.path)
    source = query.get("source")
    if source not in (None, "web"):
        return problem(400, "Bad request", "source can only be 'web'.", instance=request.url.path)
    store = app.store

    def wanted(record: Record) -> bool:
        created = store.wall(record.created)
        return (
            (source is None or record.source == source)
            and (after is None or created >= after)
            and (before is None or created < before)
        )

    records = [record for record in store.newest_first() if wanted(record)]
    page = paginate(records, lambda record: record.seq, cursor)
    base = base_url(request)
    return JSONResponse(page_body(request.url, page, lambda r: prediction_object(app, r, base)))


async def get(app: EmulatorApp, request: Request) -> Response:
    """``GET /v1/predictions/{id}``."""
    record = poll_prediction(app, request.path_params["prediction_id"])
    if record is None:
        return _prediction_not_found(request)
    return JSONResponse(prediction_object(app, record, base_url(request)))


async def cancel(app: EmulatorApp, request: Request) -> Response:
    """``POST /v1/predictions/{id}/cancel``."""
    record = app.store.cancel(request.path_params["prediction_id"])
    if record is None:
        return _prediction_not_found(request)
    return JSONResponse(prediction_object(app, record, base_url(request)))


async def stream(app: EmulatorApp, request: Request) -> Response:
    """``GET /v1/predictions/{id}/stream``: server-sent events, text models only."""
    record = app.store.get(request.path_params["prediction_id"])
    if record is None:
        return _prediction_not_found(request)
    if not _streams(record.model):
        return problem(
            404,
            "Not found",
            f"Model {record.model.name} does not support streaming: its predictions have no "
            "stream.",
            instance=request.url.path,
        )
    return EventStream(app, record.id)


def _streams(spec: ModelSpec) -> bool:
    """Whether the model's predictions can be streamed: text models can, image models not."""
    return spec.kind != "image"


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


def deployment_not_found(request: Request) -> Response:
    """The 404 for a ``/v1/deployments/{owner}/{name}...`` route of a deployment the emulator
    lacks."""
    owner, name = request.path_params["owner"], request.path_params["name"]
    return problem(
        404,
        "Deployment not found",
        f"The requested deployment {owner}/{name} does not exist {NOT_PERMITTED}.",
        instance=request.url.path,
    )


def _prediction_not_found(request: Request) -> Response:
    return problem(
        404,
        "Not found",
        f"Prediction {request.path_params['prediction_id']} not found",
        instance=request.url.path,
    )
