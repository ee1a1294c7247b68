"""What a call sends to the model: keyword inputs, kept apart from the SDK's own options.

``generate_text("hi", timeout=5)`` once sent ``timeout`` to the model, silently. The rule now:
the SDK's options are the named parameters of each method; every other keyword is a model
input, unless its name is one of the client's options, which is an error that says where the
option goes. ``input={...}`` sends any name, those included.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from ._protocols import CreateOptions, WebhookEvent

__all__ = ["CLIENT_OPTIONS", "check_wait_timeout", "create_options", "model_input"]

CLIENT_OPTIONS = frozenset(
    {
        "api_token",
        "backend",
        "base_url",
        "timeout",
        "max_retries",
        "retry_backoff",
        "wait_timeout",
        "poll_interval",
        "headers",
        "http_client",
        "max_response_bytes",
        "max_event_bytes",
        "max_download_bytes",
        "trusted_hosts",
        "file_encoding",
    }
)
"""The keyword options of `Client` and `AsyncClient`: never taken for model inputs."""


def model_input(
    method: str, input: Mapping[str, object] | None, keywords: Mapping[str, object]
) -> dict[str, object]:
    """The model's input: `input` and the keyword inputs of a call to `method`, merged.

    Raises:
        TypeError: a keyword is a client option, or a name is given both ways.
    """
    for name in keywords:
        if name in CLIENT_OPTIONS:
            raise TypeError(
                f"{method}() got {name}=, which is a client option, not a model input. Set it "
                f"on the client, or for some calls with client.with_options({name}=...); the "
                f"deadline of one call is wait_timeout=. To send {name!r} to the model, pass "
                f"input={{{name!r}: ...}}."
            )
    given = dict(input or {})
    if twice := sorted(given.keys() & keywords.keys()):
        raise TypeError(f"{method}() got {', '.join(twice)} both in input= and as keywords")
    given.update(keywords)
    return given


def check_wait_timeout(wait_timeout: float | None) -> float | None:
    """`wait_timeout` if it is a usable number of seconds, or ``None``.

    Raises:
        ValueError: it is zero, negative or not finite.
    """
    if wait_timeout is not None and not (wait_timeout > 0 and math.isfinite(wait_timeout)):
        raise ValueError(f"wait_timeout must be a positive number of seconds, not {wait_timeout}")
    return wait_timeout


def create_options(
    webhook: str | None,
    webhook_events_filter: Iterable[WebhookEvent] | None,
    cancel_after: float | None,
) -> CreateOptions:
    """A create's options beyond its model and input, checked before any request.

    Raises:
        TypeError: `webhook_events_filter` is one string, not a list of them.
        ValueError: an option is not one the API accepts.
    """
    if isinstance(webhook_events_filter, str):
        raise TypeError(
            f"webhook_events_filter takes a list of events, such as [{webhook_events_filter!r}]"
        )
    events = None if webhook_events_filter is None else frozenset(webhook_events_filter)
    return CreateOptions(webhook, events, cancel_after)
