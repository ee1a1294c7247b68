"""What a create can send besides a model and input: deployments, webhooks, Cancel-After."""

from __future__ import annotations

import json

import pytest
import respx

from replicatehome import OutputResult, UnsupportedFeatureError

from ..helpers import AnyClient, handle


def official(status: str = "starting", output: object = None) -> dict[str, object]:
    return {"id": "p1", "status": status, "output": output}


async def test_a_deployment_runs_through_its_own_route(
    live: AnyClient, mock: respx.MockRouter
) -> None:
    create = mock.post("/v1/deployments/acme/my-deploy/predictions").respond(
        201, json=official("succeeded", {"answer": 42})
    )

    p = await handle(live.predictions.create(deployment="acme/my-deploy", input={"q": "?"}))

    assert json.loads(create.calls[0].request.content) == {"input": {"q": "?"}}
    assert isinstance(p.result, OutputResult)
    assert p.result.output == {"answer": 42}


async def test_webhooks_and_cancel_after_go_with_the_create(
    live: AnyClient, mock: respx.MockRouter
) -> None:
    create = mock.post("/v1/predictions").respond(201, json=official())

    await handle(
        live.predictions.create(
            "gemma-2b",
            input={"prompt": "x"},
            webhook="https://example.com/hook",
            webhook_events_filter=["completed", "start"],
            cancel_after=90,
        )
    )

    request = create.calls[0].request
    body = json.loads(request.content)
    assert body["webhook"] == "https://example.com/hook"
    assert body["webhook_events_filter"] == ["completed", "start"]
    assert request.headers["Cancel-After"] == "90s"


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"cancel_after": 4.9}, ValueError, "5 seconds or more"),
        ({"cancel_after": float("inf")}, ValueError, "5 seconds or more"),
        ({"webhook": "ftp://example.com/x"}, ValueError, "http"),
        ({"webhook": "https://e.x/h", "webhook_events_filter": ["done"]}, ValueError, "done"),
        ({"webhook_events_filter": ["start"]}, ValueError, "needs a webhook"),
        ({"webhook": "https://e.x/h", "webhook_events_filter": "start"}, TypeError, "a list"),
        ({"deployment": "acme/my-deploy"}, TypeError, "not both"),
    ],
)
async def test_options_the_api_would_refuse_are_refused_before_any_request(
    live: AnyClient,
    mock: respx.MockRouter,
    options: dict[str, object],
    error: type[Exception],
    match: str,
) -> None:
    with pytest.raises(error, match=match):
        await handle(live.predictions.create("gemma-2b", input={}, **options))  # type: ignore[call-overload]
    assert mock.calls.call_count == 0


@pytest.mark.parametrize("name", ["acme", "a/b/c", "../x", "acme/", "acme/x?y"])
async def test_a_deployment_name_that_is_not_owner_slash_name_is_refused(
    live: AnyClient, mock: respx.MockRouter, name: str
) -> None:
    with pytest.raises(ValueError, match="owner/name"):
        await handle(live.predictions.create(deployment=name, input={}))
    assert mock.calls.call_count == 0


async def test_neither_model_nor_deployment_is_a_type_error(live: AnyClient) -> None:
    with pytest.raises(TypeError, match="a model or a deployment"):
        await handle(live.predictions.create(input={}))  # type: ignore[call-overload]


@pytest.mark.parametrize(
    "options",
    [{"webhook": "https://example.com/hook"}, {"cancel_after": 60}],
)
async def test_the_homepage_refuses_what_it_cannot_send(
    client: AnyClient, mock: respx.MockRouter, options: dict[str, object]
) -> None:
    with pytest.raises(UnsupportedFeatureError, match="official API"):
        await handle(client.predictions.create("gemma-2b", input={}, **options))  # type: ignore[call-overload]
    with pytest.raises(UnsupportedFeatureError, match="official API"):
        await handle(client.predictions.create(deployment="acme/d", input={}))
    assert mock.calls.call_count == 0
