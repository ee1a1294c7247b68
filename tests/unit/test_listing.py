"""``predictions.list()``: the account's predictions, page by page, through both clients."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import respx

from replicatehome import (
    AsyncPrediction,
    Prediction,
    PredictionResult,
    ResponseValidationError,
    UnsupportedFeatureError,
)
from replicatehome._lifecycle import Listing

from ..helpers import BASE_URL, TOKEN, AnyClient

Any = Prediction[PredictionResult] | AsyncPrediction[PredictionResult]


def page(ids: list[str], next: str | None = None) -> dict[str, object]:
    results = [{"id": id, "status": "succeeded", "output": [id]} for id in ids]
    return {"results": results, "next": next, "previous": None}


async def first(client: AnyClient, count: int) -> list[Any]:
    """Up to `count` predictions from the listing, iterating it as a user would."""
    found: list[Any] = []
    listing = client.predictions.list()
    if isinstance(listing, AsyncIterator):
        async for prediction in listing:
            found.append(prediction)
            if len(found) == count:
                break
    else:
        for item in listing:
            found.append(item)
            if len(found) == count:
                break
    return found


async def test_pages_are_followed_lazily_newest_first(
    live: AnyClient, mock: respx.MockRouter
) -> None:
    second_url = f"{BASE_URL}/v1/predictions?cursor=c2"
    second = mock.get(second_url).respond(200, json=page(["p3"]))
    first_page = mock.get(f"{BASE_URL}/v1/predictions", params={}).mock(
        side_effect=lambda request: httpx.Response(
            200, json=page(["p1", "p2"], second_url) if not request.url.query else page(["p3"])
        )
    )

    two = await first(live, 2)
    assert [p.id for p in two] == ["p1", "p2"]
    assert second.call_count == 0  # the next page is read only when it is needed

    every = await first(live, 100)
    assert [p.id for p in every] == ["p1", "p2", "p3"]
    assert second.call_count == 1
    assert first_page.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert every[0].status == "succeeded"


async def test_the_homepage_cannot_list_and_says_so_before_any_request(
    client: AnyClient, mock: respx.MockRouter
) -> None:
    with pytest.raises(UnsupportedFeatureError, match="official API"):
        client.predictions.list()
    assert mock.calls.call_count == 0


async def test_a_cursor_on_another_origin_is_not_followed_with_the_token(
    live: AnyClient, mock: respx.MockRouter
) -> None:
    mock.get(f"{BASE_URL}/v1/predictions").respond(
        200, json=page(["p1"], "https://attacker.test/v1/predictions?cursor=x")
    )

    with pytest.raises(ResponseValidationError, match="another origin"):
        await first(live, 100)
    assert mock.calls.call_count == 1


async def test_a_cursor_that_loops_ends_the_listing_with_an_error(
    live: AnyClient, mock: respx.MockRouter
) -> None:
    loop = f"{BASE_URL}/v1/predictions?cursor=same"
    mock.get(f"{BASE_URL}/v1/predictions").respond(200, json=page(["p1"], loop))

    with pytest.raises(ResponseValidationError, match="loops"):
        await first(live, 100)
    assert mock.calls.call_count == 2


async def test_endless_empty_pages_end_the_listing(live: AnyClient, mock: respx.MockRouter) -> None:
    def endless(request: httpx.Request) -> httpx.Response:
        n = int(request.url.params.get("cursor", "0"))
        return httpx.Response(200, json=page([], f"{BASE_URL}/v1/predictions?cursor={n + 1}"))

    mock.get(f"{BASE_URL}/v1/predictions").mock(side_effect=endless)

    assert await first(live, 100) == []
    assert mock.calls.call_count == Listing.EMPTY_PAGES


async def test_a_page_that_is_not_a_page_is_a_validation_error(
    live: AnyClient, mock: respx.MockRouter
) -> None:
    mock.get(f"{BASE_URL}/v1/predictions").respond(200, json={"results": "nope"})

    with pytest.raises(ResponseValidationError):
        await first(live, 100)
