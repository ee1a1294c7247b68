"""Retries, back-off and typed errors, through both clients."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest
import respx

from replicatehome import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    PredictionTimeoutError,
    RateLimitError,
    ReplicateHomeError,
    ResponseValidationError,
    UnprocessableEntityError,
)

from ..helpers import AnyClient, Mode, answer, call, close, handle, make_client, prediction

HTML_502 = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


async def test_polls_survive_gateway_errors_and_timeouts(
    client: AnyClient, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    mock.post("/api/prediction").respond(201, json=prediction("starting"))
    poll = mock.get("/api/poll").mock(
        side_effect=[
            httpx.Response(502, text=HTML_502, headers={"Content-Type": "text/html"}),
            httpx.ReadTimeout("slow"),
            answer("processing", ["do"]),
            httpx.Response(408),
            httpx.Response(503, text="<html>unavailable</html>"),
            answer("processing", ["do"]),
            httpx.RemoteProtocolError("peer closed connection"),
            answer("succeeded", ["do", "ne"]),
        ]
    )

    result = await call(client.generate_text("hi"))

    assert result.text == "done"
    assert poll.call_count == 8


async def test_a_wait_keeps_polling_through_failures_until_its_deadline(
    mode: Mode, mock: respx.MockRouter
) -> None:
    # The prediction runs whatever the gateway says: giving up after max_retries would lose it.
    client = make_client(mode, max_retries=1, wait_timeout=0.4)
    mock.post("/api/prediction").respond(201, json=prediction("starting"))
    poll = mock.get("/api/poll").respond(502, text=HTML_502, headers={"Content-Type": "text/html"})

    with pytest.raises(PredictionTimeoutError) as caught:
        await call(client.generate_text("hi"))
    await close(client)

    assert caught.value.prediction.id == "p1"
    assert poll.call_count > 2  # more than max_retries + 1
    error = caught.value.__cause__
    assert isinstance(error, InternalServerError)
    assert error.status_code == 502
    assert error.body == HTML_502
    assert "HTML error page" in str(error)


async def test_retry_after_seconds_is_honoured(
    client: AnyClient, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    mock.post("/api/prediction").respond(201, json=prediction("starting"))
    mock.get("/api/poll").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "3"}, json={"detail": "slow down"}),
            answer("succeeded", ["ok"]),
        ]
    )

    await call(client.generate_text("hi"))

    assert 3.0 <= max(sleeps) < 3.5


async def test_retry_after_as_an_http_date_is_honoured_and_capped(
    client: AnyClient, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    in_a_day = email.utils.formatdate(time.time() + 86400, usegmt=True)
    mock.post("/api/prediction").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": in_a_day}),
            httpx.Response(201, json=prediction("succeeded", ["ok"])),
        ]
    )

    await call(client.generate_text("hi"))

    assert sleeps == [60.0]


async def test_create_is_retried_on_429_and_unsent_connections_only(
    client: AnyClient, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    create = mock.post("/api/prediction").mock(
        side_effect=[
            httpx.Response(429, json={"detail": "Request was throttled."}),
            httpx.ConnectError("refused"),
            httpx.Response(201, json=prediction("succeeded", ["ok"])),
        ]
    )

    assert (await call(client.generate_text("hi"))).text == "ok"
    assert create.call_count == 3
    assert len(sleeps) == 2


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (httpx.Response(500, text="<html>oops</html>"), InternalServerError),
        (httpx.ReadTimeout("no answer"), APITimeoutError),
        (httpx.RemoteProtocolError("dropped"), APIConnectionError),
    ],
)
async def test_a_create_that_may_have_reached_the_server_is_not_repeated(
    client: AnyClient,
    mock: respx.MockRouter,
    sleeps: list[float],
    failure: httpx.Response | Exception,
    error: type[ReplicateHomeError],
) -> None:
    create = mock.post("/api/prediction").mock(side_effect=[failure])

    with pytest.raises(error):
        await call(client.generate_text("hi"))

    assert create.call_count == 1


async def test_rate_limit_that_persists_raises_rate_limit_error(
    mode: Mode, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    client = make_client(mode, max_retries=0)
    mock.post("/api/prediction").respond(
        429, json={"detail": "Request was throttled. Your rate limit resets in ~30s."}
    )

    with pytest.raises(RateLimitError, match="resets in ~30s") as caught:
        await call(client.generate_text("hi"))
    await close(client)

    assert caught.value.body == {"detail": "Request was throttled. Your rate limit resets in ~30s."}
    assert sleeps == []


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, APIStatusError),
        (422, UnprocessableEntityError),
    ],
)
async def test_client_errors_map_to_typed_exceptions_without_retrying(
    client: AnyClient,
    mock: respx.MockRouter,
    sleeps: list[float],
    status: int,
    error: type[APIStatusError],
) -> None:
    create = mock.post("/api/prediction").respond(status, json={"detail": "nope"})

    with pytest.raises(error, match="nope") as caught:
        await call(client.generate_text("hi"))

    assert type(caught.value) is error
    assert caught.value.status_code == status
    assert caught.value.response.status_code == status
    assert create.call_count == 1


async def test_unknown_prediction_id_is_not_found(
    client: AnyClient, mock: respx.MockRouter
) -> None:
    mock.get("/api/poll").respond(404, text='{"detail": "Prediction not found"}')

    with pytest.raises(NotFoundError, match="Prediction not found"):
        await handle(client.predictions.get("nope"))


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>maintenance</html>"),
        httpx.Response(200, json=["not", "an", "object"]),
        httpx.Response(200, json={"status": "succeeded"}),
    ],
)
async def test_a_2xx_body_of_the_wrong_shape_is_a_validation_error(
    client: AnyClient, mock: respx.MockRouter, response: httpx.Response
) -> None:
    mock.get("/api/poll").mock(return_value=response)

    with pytest.raises(ResponseValidationError) as caught:
        await handle(client.predictions.get("p1"))

    assert caught.value.response is not None
    assert caught.value.body is not None


async def test_connection_errors_on_polls_become_api_connection_error(
    mode: Mode, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    client = make_client(mode, max_retries=2)
    poll = mock.get("/api/poll").mock(side_effect=httpx.ConnectError("refused"))

    with pytest.raises(APIConnectionError, match="refused") as caught:
        await handle(client.predictions.get("p1"))
    await close(client)

    assert not isinstance(caught.value, APITimeoutError)
    assert poll.call_count == 3
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


async def test_errors_after_the_deadline_are_timeouts(mode: Mode, mock: respx.MockRouter) -> None:
    client = make_client(mode, wait_timeout=0.2, max_retries=50)
    mock.post("/api/prediction").respond(201, json=prediction("processing"))
    mock.get("/api/poll").respond(503, text="<html>busy</html>")

    with pytest.raises(PredictionTimeoutError) as caught:
        await call(client.generate_text("hi"))
    await close(client)

    assert isinstance(caught.value.__cause__, InternalServerError)
    assert caught.value.prediction.status == "processing"
