"""replicatehome: a typed SDK, sync and async, for the models behind Replicate's home page.

>>> from replicatehome import Client
>>> with Client() as client:
...     print(client.generate_text("Write a haiku").text)
"""

from ._client import AsyncClient, AsyncPredictions, Client, Predictions
from ._models import PredictionMetrics, PredictionSnapshot, PredictionStatus, PredictionUrls
from ._prediction import AsyncPrediction, Prediction, PredictionResult
from ._version import __version__
from .catalog import ModelSpec
from .errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
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
)
from .prompts import Message
from .results import ImageResult, TextResult

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncClient",
    "AsyncPrediction",
    "AsyncPredictions",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ImageResult",
    "InternalServerError",
    "Message",
    "ModelSpec",
    "NotFoundError",
    "PermissionDeniedError",
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
    "__version__",
]
