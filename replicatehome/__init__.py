"""replicatehome: a typed SDK, sync and async, for the models behind Replicate's home page.

Examples:
    >>> from replicatehome import Client
    >>> with Client() as client:
    ...     print(client.generate_text("Write a haiku").text)
"""

# Names load on first use (PEP 562), so `import replicatehome` costs almost nothing: httpx,
# pydantic and tenacity load with the first name that needs them.

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ._version import __version__

if TYPE_CHECKING:
    from ._client import (
        AsyncClient,
        AsyncModels,
        AsyncPredictions,
        AsyncWebhooks,
        Client,
        Models,
        Predictions,
        Webhooks,
    )
    from ._history import PollStats
    from ._models import (
        Model,
        ModelVersion,
        PredictionMetrics,
        PredictionSnapshot,
        PredictionStatus,
        PredictionUrls,
    )
    from ._prediction import (
        AsyncPrediction,
        Prediction,
        PredictionResult,
    )
    from .catalog import ModelSpec
    from .errors import (
        APIConnectionError,
        APIError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        InputFileError,
        InputFileTooLargeError,
        InputProblem,
        InputValidationError,
        InternalServerError,
        NotFoundError,
        PermissionDeniedError,
        PredictionCanceledError,
        PredictionDataRemovedError,
        PredictionError,
        PredictionFailedError,
        PredictionNotFinishedError,
        PredictionTimeoutError,
        RateLimitError,
        ReplicateHomeError,
        ResponseTooLargeError,
        ResponseValidationError,
        UnknownModelError,
        UnprocessableEntityError,
        UnsupportedFeatureError,
        WebhookVerificationError,
    )
    from .prompts import Message
    from .results import FileOutput, ImageResult, OutputResult, TextResult

_HOMES: dict[str, str] = {
    "PollStats": "_history",
    "AsyncClient": "_client",
    "AsyncModels": "_client",
    "AsyncPredictions": "_client",
    "AsyncWebhooks": "_client",
    "Client": "_client",
    "Models": "_client",
    "Predictions": "_client",
    "Webhooks": "_client",
    "Model": "_models",
    "ModelVersion": "_models",
    "PredictionMetrics": "_models",
    "PredictionSnapshot": "_models",
    "PredictionStatus": "_models",
    "PredictionUrls": "_models",
    "AsyncPrediction": "_prediction",
    "Prediction": "_prediction",
    "PredictionResult": "_prediction",
    "ModelSpec": "catalog",
    "APIConnectionError": "errors",
    "APIError": "errors",
    "APIStatusError": "errors",
    "APITimeoutError": "errors",
    "AuthenticationError": "errors",
    "BadRequestError": "errors",
    "InputFileError": "errors",
    "InputFileTooLargeError": "errors",
    "InputProblem": "errors",
    "InputValidationError": "errors",
    "InternalServerError": "errors",
    "NotFoundError": "errors",
    "PermissionDeniedError": "errors",
    "PredictionCanceledError": "errors",
    "PredictionDataRemovedError": "errors",
    "PredictionError": "errors",
    "PredictionFailedError": "errors",
    "PredictionNotFinishedError": "errors",
    "PredictionTimeoutError": "errors",
    "RateLimitError": "errors",
    "ReplicateHomeError": "errors",
    "ResponseTooLargeError": "errors",
    "ResponseValidationError": "errors",
    "UnknownModelError": "errors",
    "UnprocessableEntityError": "errors",
    "UnsupportedFeatureError": "errors",
    "WebhookVerificationError": "errors",
    "Message": "prompts",
    "FileOutput": "results",
    "ImageResult": "results",
    "OutputResult": "results",
    "TextResult": "results",
}
"""Which submodule defines each public name."""

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncClient",
    "AsyncModels",
    "AsyncPrediction",
    "AsyncPredictions",
    "AsyncWebhooks",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "FileOutput",
    "ImageResult",
    "InputFileError",
    "InputFileTooLargeError",
    "InputProblem",
    "InputValidationError",
    "InternalServerError",
    "Message",
    "Model",
    "ModelSpec",
    "ModelVersion",
    "Models",
    "NotFoundError",
    "OutputResult",
    "PermissionDeniedError",
    "PollStats",
    "Prediction",
    "PredictionCanceledError",
    "PredictionDataRemovedError",
    "PredictionError",
    "PredictionFailedError",
    "PredictionMetrics",
    "PredictionNotFinishedError",
    "PredictionResult",
    "PredictionSnapshot",
    "PredictionStatus",
    "PredictionTimeoutError",
    "PredictionUrls",
    "Predictions",
    "RateLimitError",
    "ReplicateHomeError",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "TextResult",
    "UnknownModelError",
    "UnprocessableEntityError",
    "UnsupportedFeatureError",
    "WebhookVerificationError",
    "Webhooks",
    "__version__",
]


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value  # found directly from now on
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
