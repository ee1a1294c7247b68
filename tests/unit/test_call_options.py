"""Per-call options: model inputs kept apart from SDK options, wait_timeout, with_options."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from replicatehome import Client, PredictionTimeoutError
from replicatehome._call_inputs import CLIENT_OPTIONS

from ..helpers import AnyClient, answer, call, close, handle, prediction


def test_the_reserved_names_are_exactly_the_clients_options() -> None:
    import inspect

    assert set(inspect.signature(Client).parameters) == CLIENT_OPTIONS


async def test_a_client_option_given_as_a_model_input_is_refused_before_any_request(
    client: AnyClient, mock: respx.MockRouter
) -> None:
    with pytest.raises(TypeError, match=r"timeout=, which is a client option.*with_options"):
        await call(client.generate_text("hi", timeout=5))  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="max_retries="):
        await call(client.generate_image("a fox", max_retries=0))  # type: ignore[call-overload]
    assert mock.calls.call_count == 0


async def test_input_mapping_merges_with_keywords(
    client: AnyClient, mock: respx.MockRouter
) -> None:
    create = mock.post("/api/prediction").respond(201, json=prediction("succeeded", ["ok"]))

    await call(client.generate_text("hi", input={"top_k": 3}, temperature=0.2))

    sent = json.loads(create.calls[0].request.content)["input"]
    assert sent == {"prompt": "hi", "top_k": 3, "temperature": 0.2}


async def test_input_mapping_sends_any_name_to_a_model_outside_the_catalog(
    client: AnyClient, mock: respx.MockRouter
) -> None:
    create = mock.post("/api/prediction").respond(201, json=prediction("succeeded", ["ok"]))

    await call(client.generate_text("hi", model="acme/any:v1", input={"timeout": 5, "top-k": 3}))

    sent = json.loads(create.calls[0].request.content)["input"]
    assert sent == {"prompt": "hi", "timeout": 5, "top-k": 3}


async def test_a_name_given_both_ways_is_refused(client: AnyClient, mock: respx.MockRouter) -> None:
    with pytest.raises(TypeError, match="top_k both in input= and as keywords"):
        await call(client.generate_text("hi", input={"top_k": 1}, top_k=2))
    assert mock.calls.call_count == 0


async def test_wait_timeout_bounds_one_call(bounded: AnyClient, mock: respx.MockRouter) -> None:
    mock.post("/api/prediction").respond(201, json=prediction("starting"))
    mock.get("/api/poll").mock(return_value=answer("processing"))

    with pytest.raises(PredictionTimeoutError) as caught:
        await call(bounded.generate_text("hi", wait_timeout=0.15))

    assert caught.value.timeout == 0.15


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf")])
async def test_a_wait_timeout_that_is_no_time_is_refused_before_any_request(
    client: AnyClient, mock: respx.MockRouter, bad: float
) -> None:
    with pytest.raises(ValueError, match="wait_timeout must be a positive number"):
        await call(client.generate_text("hi", wait_timeout=bad))
    with pytest.raises(ValueError, match="wait_timeout must be a positive number"):
        await handle(client.predictions.create("gemma-2b", input={}, wait_timeout=bad))
    assert mock.calls.call_count == 0


async def test_a_prediction_created_with_wait_timeout_waits_that_long_by_default(
    bounded: AnyClient, mock: respx.MockRouter
) -> None:
    mock.post("/api/prediction").respond(201, json=prediction("starting"))
    mock.get("/api/poll").mock(return_value=answer("processing"))
    p = await handle(bounded.predictions.create("gemma-2b", input={}, wait_timeout=0.1))

    with pytest.raises(PredictionTimeoutError) as default:
        await call(p.wait())
    with pytest.raises(PredictionTimeoutError) as given:
        await call(p.wait(timeout=0.15))

    assert (default.value.timeout, given.value.timeout) == (0.1, 0.15)


async def test_with_options_changes_some_calls_and_shares_the_rest(
    client: AnyClient, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    poll = mock.get("/api/poll").mock(return_value=httpx.Response(500))
    fast = client.with_options(max_retries=0, headers={"X-Trace": "1"}, wait_timeout=7)

    with pytest.raises(Exception, match="500"):
        await handle(fast.predictions.get("p1"))
    assert poll.call_count == 1  # no retry
    assert poll.calls[0].request.headers["X-Trace"] == "1"

    with pytest.raises(Exception, match="500"):
        await handle(client.predictions.get("p1"))
    assert poll.call_count == 1 + 3  # the original keeps its two retries, and no new header
    assert "X-Trace" not in poll.calls[-1].request.headers

    assert fast.poll_stats is client.poll_stats
    assert fast.base_url == client.base_url
    await close(fast)  # closes nothing: the connections are the original's
    poll.mock(return_value=answer("succeeded", ["x"]))
    assert (await handle(client.predictions.get("p1"))).status == "succeeded"


async def test_with_options_checks_what_it_is_given(client: AnyClient) -> None:
    with pytest.raises(ValueError, match="max_retries"):
        client.with_options(max_retries=-1)
