"""Canned predictions through respx: unit tests of code that uses the SDK, with no server at all.

respx is the caller's: this module imports it only when given a router, from a test.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import httpx
    import respx
    from pydantic import JsonValue

__all__ = ["MOCK_OUTPUT", "ReplicateMock", "mock_replicatehome"]

MOCK_OUTPUT: Final[list[JsonValue]] = ["This ", "is ", "mocked ", "output."]
"""The output canned predictions have unless told otherwise: text, as a text model sends it."""

_STATUSES: Final = ("starting", "processing", "succeeded", "failed", "canceled")
_CREATE: Final = r"(api/prediction|v1/(predictions|(models|deployments)/[^/?]+/[^/?]+/predictions))"
_POLL: Final = r"(api/poll\?id=[^&]+|v1/predictions/[^/?]+)"


class ReplicateMock:
    """The respx route that answers the SDK's creates and polls, and what it answers.

    Every create gets a new id (``mock-1``, ``mock-2``...) and the canned prediction; a poll
    of any id gets it too. Made by `mock_replicatehome`, or by the ``replicatehome_mock`` fixture.

    Attributes:
        router: The respx router the route belongs to; add routes of your own to it.
        route: The route: creates (``POST /api/prediction`` and the ``/v1`` ones) and polls
            (``GET /api/poll?id=``, ``GET /v1/predictions/{id}``). ``route.calls`` has the
            requests and their answers.
    """

    def __init__(self, router: respx.Router, base_urls: Iterable[str]) -> None:
        """Add the route to `router`, for the servers at `base_urls`."""
        import httpx
        from respx.patterns import M

        bases = "|".join(re.escape(str(httpx.URL(url)).rstrip("/")) for url in base_urls)
        # One route, not two: a prediction that ends at its create is never polled, and
        # respx.mock() fails a test whose routes were not all called.
        self.router = router
        self.route = router.route(
            M(method="POST", url__regex=rf"^({bases})/{_CREATE}$")
            | M(method="GET", url__regex=rf"^({bases})/{_POLL}$")
        )
        self.route.side_effect = self._answer
        self._ids = itertools.count(1)
        self._prediction: dict[str, JsonValue] = {}
        self.reply()

    def reply(
        self,
        output: JsonValue = MOCK_OUTPUT,
        *,
        status: str = "succeeded",
        error: str | None = None,
    ) -> None:
        """Set what predictions answer from now on.

        Args:
            output: The prediction's ``output``: a list of text tokens for a text model, a list
                of file URLs for an image model (mock their downloads on `router`), any JSON
                for other models.
            status: ``succeeded`` (the default), ``failed`` or ``canceled`` end the prediction
                at once; ``starting`` or ``processing`` leave it running for ever, for tests of
                timeouts.
            error: The prediction's ``error``, for a ``failed`` one.
        """
        if status not in _STATUSES:
            raise ValueError(f"status must be one of {', '.join(_STATUSES)}, not {status!r}")
        self._prediction = {"status": status, "output": output, "error": error, "logs": ""}

    @property
    def inputs(self) -> list[JsonValue]:
        """The ``input`` of every create so far, the oldest first: what your code asked for."""
        return [
            _body(call.request).get("input")
            for call in self.route.calls
            if call.request.method == "POST"
        ]

    def _answer(self, request: httpx.Request) -> httpx.Response:
        import httpx

        if request.method == "POST":
            code, prediction_id, input = 201, f"mock-{next(self._ids)}", _body(request).get("input")
        else:
            url = request.url
            code, prediction_id, input = 200, url.params.get("id") or url.path.split("/")[-1], None
        prediction = {"id": prediction_id, "input": input, **self._prediction}
        return httpx.Response(code, json=prediction)


def _body(request: httpx.Request) -> dict[str, JsonValue]:
    """A create's JSON body, or an empty one: what code under test sends is not ours to trust."""
    try:
        body = json.loads(request.content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def mock_replicatehome(
    router: respx.Router,
    output: JsonValue = MOCK_OUTPUT,
    *,
    status: str = "succeeded",
    error: str | None = None,
    base_url: str | None = None,
) -> ReplicateMock:
    """Answer the SDK's creates and polls on `router` with a canned prediction.

    ::

        with respx.mock() as router:
            mocked = mock_replicatehome(router, output=["Hi"])
            assert Client().generate_text("Hello").text == "Hi"
        assert mocked.inputs == [{"prompt": "Hello"}]

    Args:
        router: A respx router, such as ``respx.mock()`` or respx's ``respx_mock`` fixture.
        output: See `ReplicateMock.reply`; so are `status` and `error`.
        status: The prediction's status.
        error: The prediction's error.
        base_url: The server to mock. By default, those a client made without ``base_url``
            may use: ``$REPLICATEHOME_BASE_URL`` if set, and the SDK's two default hosts.
    """
    from .._protocols.homepage import DEFAULT_BASE_URL
    from .._protocols.official import DEFAULT_OFFICIAL_BASE_URL

    if base_url is not None:
        bases: tuple[str, ...] = (base_url,)
    else:
        # Where a client made without base_url sends: the environment's server, or a default.
        from_env = os.environ.get("REPLICATEHOME_BASE_URL")
        bases = (DEFAULT_BASE_URL, DEFAULT_OFFICIAL_BASE_URL)
        bases = (from_env, *bases) if from_env else bases
    mocked = ReplicateMock(router, bases)
    mocked.reply(output, status=status, error=error)
    return mocked
