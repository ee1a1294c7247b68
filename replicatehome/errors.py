"""The exceptions this SDK raises. Every one of them is a `ReplicateHomeError`.

Two families: `APIError` for what went wrong on the wire (status codes, connections, bodies that
are not the expected shape), and `PredictionError` for predictions that ended badly or not in
time. Each carries what a caller needs to act: the response and body, or the prediction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._shorten import MAX_EXPLANATION, shorten

if TYPE_CHECKING:
    import httpx
    from pydantic import JsonValue

    from ._models import PredictionSnapshot

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "InputFileError",
    "InputFileTooLargeError",
    "InputProblem",
    "InputValidationError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "PredictionCanceledError",
    "PredictionDataRemovedError",
    "PredictionError",
    "PredictionFailedError",
    "PredictionNotFinishedError",
    "PredictionTimeoutError",
    "RateLimitError",
    "ReplicateHomeError",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "UnknownModelError",
    "UnprocessableEntityError",
    "UnsupportedFeatureError",
    "WebhookVerificationError",
]


class ReplicateHomeError(Exception):
    """Base class of every error this SDK raises."""


class UnknownModelError(ReplicateHomeError, ValueError):
    """The model name is neither in the catalog nor runnable as given. No request was made."""

    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        self.name = name
        self.known = known
        super().__init__(
            f"Unknown model {name!r}. Known models and aliases: {', '.join(known)}. "
            "To run another Replicate model, pass its full 'owner/name' and version=."
        )


class InputFileError(ReplicateHomeError, ValueError):
    """A file in a prediction's input cannot be sent: it cannot be read, or does not read bytes.

    Raised before any request. The `__cause__` is the error that reading raised, if any.

    Attributes:
        where: the file's place in the input, such as ``input['images'][0]``.
    """

    def __init__(self, message: str, *, where: str) -> None:
        super().__init__(message)
        self.where = where


@dataclass(frozen=True, slots=True)
class InputProblem:
    """One thing wrong with a model input: which field, what was given, what is allowed."""

    field: str
    """The input's name, such as ``aspect_ratio``."""
    given: object
    """The value given, as given."""
    allowed: str
    """What the field takes, in words: ``'1:1', '16:9' or ...``, ``less than or equal to 4``."""
    message: str
    """The whole complaint, as one line."""

    def __str__(self) -> str:
        return f"{self.field}={shorten(repr(self.given))}: {self.message}"

    @classmethod
    def unknown(cls, field: str, given: object, known: Sequence[str], allowed: str) -> InputProblem:
        """A name the model does not take, with the nearest of the `known` names as a hint."""
        import difflib  # only when an input is wrong: keeps it out of every start-up

        near = difflib.get_close_matches(field, known, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        return cls(field, given, allowed, f"not an input of this model{hint}")


class InputValidationError(ReplicateHomeError, ValueError):
    """A catalog model's input does not fit its schema. Raised before any request.

    The message lists every problem, one per line.

    Attributes:
        model: the model's full ``owner/name``.
        problems: each field that is wrong, with what was given and what is allowed.
    """

    def __init__(self, model: str, problems: tuple[InputProblem, ...]) -> None:
        self.model = model
        self.problems = problems
        lines = "".join(f"\n  {problem}" for problem in problems)
        super().__init__(f"Invalid input for {model}:{lines}")


class InputFileTooLargeError(InputFileError):
    """A file in a prediction's input is larger than the SDK sends. Raised before any request.

    Attributes:
        limit: the most bytes a file may have, sent the way this one would have been.
    """

    def __init__(self, message: str, *, where: str, limit: int) -> None:
        super().__init__(message, where=where)
        self.limit = limit


class UnsupportedFeatureError(ReplicateHomeError):
    """The backend in use cannot do this (cancel on the homepage backend). No request was made."""


class WebhookVerificationError(ReplicateHomeError, ValueError):
    """A webhook delivery failed `replicatehome.webhooks.verify`: do not act on it.

    The message says why: a signature that does not match, a timestamp outside the tolerance,
    missing or malformed headers, a malformed secret, or a body that is not a prediction. It
    never holds the secret or the signature it expected.
    """


class APIError(ReplicateHomeError):
    """Something went wrong talking to the server."""

    def __init__(self, message: str, *, request: httpx.Request | None = None) -> None:
        super().__init__(message)
        self.request = request


class APIConnectionError(APIError):
    """The request could not be completed: DNS, refused or dropped connection, TLS, proxy."""


class APITimeoutError(APIConnectionError):
    """The server did not answer within the HTTP timeout."""


class ResponseValidationError(APIError):
    """A successful answer that is not what the protocol promises.

    `response` and `body` are the answer at fault; `response` is ``None`` when the problem is in
    a finished prediction's output rather than in one response.
    """

    def __init__(
        self, message: str, *, response: httpx.Response | None, body: JsonValue | str
    ) -> None:
        super().__init__(message, request=response.request if response is not None else None)
        self.response = response
        self.body = body


class ResponseTooLargeError(APIError):
    """An answer, an event of a stream, or a download is larger than the client's limit.

    Reading stopped at the limit, so memory stays near it whatever the server sends. The limits
    are client options: ``max_response_bytes``, ``max_event_bytes`` and ``max_download_bytes``.

    Attributes:
        limit: the limit that was passed, in bytes (characters for an event).
    """

    def __init__(self, message: str, *, request: httpx.Request | None, limit: int) -> None:
        super().__init__(message, request=request)
        self.limit = limit


class APIStatusError(APIError):
    """The server answered with a 4xx or 5xx status.

    Attributes:
        status_code: the HTTP status.
        response: the `httpx.Response`, already read.
        body: the decoded JSON body, or the text when it is not JSON (an HTML error page, say).
    """

    def __init__(self, message: str, *, response: httpx.Response, body: JsonValue | str) -> None:
        super().__init__(message, request=response.request)
        self.response = response
        self.status_code = response.status_code
        self.body = body


class BadRequestError(APIStatusError):
    """400: the request was malformed."""


class AuthenticationError(APIStatusError):
    """401: missing or invalid credentials."""


class PermissionDeniedError(APIStatusError):
    """403: the credentials do not allow this."""


class NotFoundError(APIStatusError):
    """404: unknown model or prediction."""


class UnprocessableEntityError(APIStatusError):
    """422: the input or version was rejected."""


class RateLimitError(APIStatusError):
    """429: too many requests. Retried automatically, honouring ``Retry-After``."""


class InternalServerError(APIStatusError):
    """5xx: the server or a gateway in front of it failed."""


class PredictionError(ReplicateHomeError):
    """A prediction did not produce a result. `prediction` is the last state seen."""

    def __init__(self, message: str, prediction: PredictionSnapshot) -> None:
        super().__init__(message)
        self.prediction = prediction


class PredictionFailedError(PredictionError):
    """The prediction ended with status ``failed``; the message holds the server's error."""

    def __init__(self, prediction: PredictionSnapshot) -> None:
        error = prediction.error
        reason = shorten(error, MAX_EXPLANATION) if error else "no error message given"
        super().__init__(f"Prediction {prediction.id} failed: {reason}", prediction)


class PredictionCanceledError(PredictionError):
    """The prediction ended with status ``canceled``."""

    def __init__(self, prediction: PredictionSnapshot) -> None:
        super().__init__(f"Prediction {prediction.id} was canceled", prediction)


class PredictionTimeoutError(PredictionError):
    """The deadline passed before the prediction reached a terminal status."""

    def __init__(self, prediction: PredictionSnapshot, timeout: float) -> None:
        super().__init__(
            f"Prediction {prediction.id} timed out: still {prediction.status.value!r} after "
            f"{timeout:g}s. Wait longer with wait(timeout=...) or the client's wait_timeout.",
            prediction,
        )
        self.timeout = timeout


class PredictionDataRemovedError(PredictionError):
    """The prediction succeeded, but the server has since removed its output.

    The official API deletes the input, output and logs of API predictions about an hour after
    they finish (``data_removed`` is then true). Keep results you need when they arrive.
    """

    def __init__(self, prediction: PredictionSnapshot) -> None:
        super().__init__(
            f"Prediction {prediction.id} succeeded, but its output has been removed by the "
            "server (data_removed). Outputs of API predictions are kept for about an hour.",
            prediction,
        )


class PredictionNotFinishedError(PredictionError):
    """`.result` was read before the prediction finished."""

    def __init__(self, prediction: PredictionSnapshot) -> None:
        super().__init__(
            f"Prediction {prediction.id} is still {prediction.status.value!r}: "
            "call .wait() to wait for its result.",
            prediction,
        )


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    """The `APIStatusError` subclass for an HTTP status."""
    if status_code >= 500:
        return InternalServerError
    return _STATUS_ERRORS.get(status_code, APIStatusError)
