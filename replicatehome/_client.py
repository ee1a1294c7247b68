"""`Client` and `AsyncClient`: configuration and the public methods, nothing else.

Each method gathers its arguments (into a `Generation` or a `Creation` where there are many),
has them planned into a flow, and hands the flow to the client's driver. The two classes differ
only in which driver they hold.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Generic, Self, TypeVar, Unpack, overload

import httpx

from ._backends import BackendName
from ._config import (
    DEFAULT_FILE_ENCODING,
    DEFAULT_LIMITS,
    DEFAULT_RETRY,
    DEFAULT_WAIT_TIMEOUT,
    ClientOptions,
    configure,
)
from ._creation import Creation
from ._file_inputs import FileEncoding
from ._generation import Generation
from ._history import PollStats
from ._lifecycle import Listing
from ._model_schemas import ModelSchemas
from ._models import Model
from ._prediction import AsyncPrediction, Prediction, PredictionResult, async_fetch, sync_fetch
from ._protocols import WebhookEvent
from ._schema_cache import SchemaCache
from ._sync_driver import SyncDriver
from ._transport import AsyncSender, SyncSender
from ._untrusted import check_prediction_id
from .catalog import (
    DEFAULT_IMAGE_MODEL,
    DEFAULT_TEXT_MODEL,
    GemmaName,
    ImageModelName,
    PlaygroundName,
    SDXLLightningName,
    StableDiffusion3Name,
    TextModelName,
)
from .prompts import Message
from .results import ImageResult, TextResult, image_urls, text_of

if TYPE_CHECKING:
    from ._async_driver import AsyncDriver
    from .inputs import GemmaInputs, PlaygroundInputs, SDXLLightningInputs, StableDiffusion3Inputs

__all__ = [
    "AsyncClient",
    "AsyncModels",
    "AsyncPredictions",
    "AsyncWebhooks",
    "Client",
    "Models",
    "Predictions",
    "Webhooks",
]


class Predictions:
    """``client.predictions``: start predictions and look them up, as live `Prediction` handles."""

    def __init__(self, driver: SyncDriver, schemas: SchemaCache) -> None:
        self._driver = driver
        self._schemas = schemas

    @overload
    def create(
        self,
        model: TextModelName,
        *,
        input: Mapping[str, object],
        version: str | None = None,
        wait_timeout: float | None = None,
        webhook: str | None = None,
        webhook_events_filter: Iterable[WebhookEvent] | None = None,
        cancel_after: float | None = None,
        file_encoding: FileEncoding | None = None,
        validate_input: bool | None = None,
    ) -> Prediction[TextResult]: ...
    @overload
    def create(
        self,
        model: ImageModelName,
        *,
        input: Mapping[str, object],
        version: str | None = None,
        wait_timeout: float | None = None,
        webhook: str | None = None,
        webhook_events_filter: Iterable[WebhookEvent] | None = None,
        cancel_after: float | None = None,
        file_encoding: FileEncoding | None = None,
        validate_input: bool | None = None,
    ) -> Prediction[ImageResult]: ...
    @overload
    def create(
        self,
        model: str,
        *,
        input: Mapping[str, object],
        version: str | None = None,
        wait_timeout: float | None = None,
        webhook: str | None = None,
        webhook_events_filter: Iterable[WebhookEvent] | None = None,
        cancel_after: float | None = None,
        file_encoding: FileEncoding | None = None,
        validate_input: bool | None = None,
    ) -> Prediction[PredictionResult]: ...
    @overload
    def create(
        self,
        model: None = None,
        *,
        deployment: str,
        input: Mapping[str, object],
        wait_timeout: float | None = None,
        webhook: str | None = None,
        webhook_events_filter: Iterable[WebhookEvent] | None = None,
        cancel_after: float | None = None,
        file_encoding: FileEncoding | None = None,
        validate_input: bool | None = None,
    ) -> Prediction[PredictionResult]: ...
    def create(
        self,
        model: str | None = None,
        *,
        input: Mapping[str, object],
        version: str | None = None,
        deployment: str | None = None,
        wait_timeout: float | None = None,
        webhook: str | None = None,
        webhook_events_filter: Iterable[WebhookEvent] | None = None,
        cancel_after: float | None = None,
        file_encoding: FileEncoding | None = None,
        validate_input: bool | None = None,
    ) -> Prediction[PredictionResult]:
        """Start a prediction and return at once, without waiting for it.

        Args:
            model: a catalog name or alias, or any ``owner/name`` with `version` (on the
                official API, with or without one).
            input: the model's input, such as ``{"prompt": "..."}``. A `Path`, bytes or binary
                file object anywhere in it is sent as a file.
            version: a version hash, to pin one other than the catalog's.
            deployment: an ``owner/name`` deployment to run instead of a model (official API).
            wait_timeout: how long the prediction's ``wait()`` and ``stream()`` wait by
                default; the client's ``wait_timeout`` if not given.
            webhook: an http(s) URL that Replicate calls as the prediction runs (official API).
            webhook_events_filter: which events call it: ``start``, ``output``, ``logs``,
                ``completed``; all by default.
            cancel_after: seconds (5 or more) after which the server cancels the prediction,
                sent as ``Cancel-After`` (official API).
            file_encoding: how files in `input` go to the official API, for this call:
                ``"url"`` (upload) or ``"data-uri"`` (inline); the client's by default.
            validate_input: check `input` before sending it. ``None`` (the default) checks
                catalog models against the SDK's schemas; ``True`` also checks other models
                against the schema their version publishes, read with one ``GET`` per model
                and version and kept by the client (official API); ``False`` checks nothing.

        Raises:
            TypeError: neither or both of `model` and `deployment` are given, or a deployment
                with ``validate_input=True``.
            ValueError: an option is not one the API accepts.
            InputValidationError: `input` does not fit the model's schema; nothing is created.
            UnsupportedFeatureError: the homepage backend cannot run a deployment or take a
                webhook or ``cancel_after``; no request is made.
        """
        call = Creation(
            model=model,
            deployment=deployment,
            version=version,
            input=input,
            wait_timeout=wait_timeout,
            webhook=webhook,
            webhook_events_filter=webhook_events_filter,
            cancel_after=cancel_after,
            file_encoding=file_encoding,
            validate_input=validate_input,
        )
        flow, kind = call.plan(self._driver.lifecycle, self._schemas)
        snapshot = self._driver.run(flow)
        return Prediction(self._driver, snapshot, kind, created=True, wait_timeout=wait_timeout)

    def get(self, id: str) -> Prediction[PredictionResult]:
        """Look up a prediction by id.

        Raises:
            ValueError: `id` cannot be a prediction id (letters, digits, ``_`` and ``-``).
        """
        lifecycle = self._driver.lifecycle
        snapshot = self._driver.run(lifecycle.get(check_prediction_id(id), lifecycle.deadline()))
        return Prediction(self._driver, snapshot, None, created=False)

    def list(self) -> Iterator[Prediction[PredictionResult]]:
        """The account's predictions, newest first, read a page at a time as you iterate.

        Raises:
            UnsupportedFeatureError: on the homepage backend, at once, before any request.
        """
        listing = Listing(self._driver.lifecycle.protocol)
        return self._pages(listing)

    def _pages(self, listing: Listing) -> Iterator[Prediction[PredictionResult]]:
        lifecycle = self._driver.lifecycle
        while listing.request is not None:
            page = self._driver.run(lifecycle.list_page(listing, lifecycle.deadline()))
            for snapshot in page.results:
                yield Prediction(self._driver, snapshot, None, created=False)


class AsyncPredictions:
    """``client.predictions``: start predictions and look them up, as `AsyncPrediction` handles."""

    def __init__(self, driver: AsyncDriver, schemas: SchemaCache) -> None:
        self._driver = driver
        self._schemas = schemas

    @overload
    async def create(
        self,
        model: TextModelName,
        *,
        input: Mapping[str, object],
        version: str | None = None,
        wait_timeout: float | None = None,
        webhook: str | None = None,
        webhook_events_filter: Iterable[WebhookEvent] | None = None,
        cancel_after: float | None = None,
        file_encoding: FileEncoding | None = None,
        validate_input: bool | None = None,
    ) -> AsyncPrediction[TextResult]: ...
    @overload
    async def create(
        self,
        model: ImageModelName,
        *,
        input: Mapping[str, object],
        version: str | None = None,
        wait_timeout: float | None = None,
        webhook: str | None = None,
        webhook_events_filter: Iterable[WebhookEvent] | None = None,
        cancel_after: float | None = None,
        file_encoding: FileEncoding | None = None,
        validate_input: bool | None = None,
    ) -> AsyncPrediction[ImageResult]: ...
    @overload
    async def create(
        self,
        model: str,
        *,
        input: Mapping[str, object],
        version: str | None = None,
        wait_timeout: float | None = None,
        webhook: str | None = None,
        webhook_events_filter: Iterable[WebhookEvent] | None = None,
        cancel_after: float | None = None,
        file_encoding: FileEncoding | None = None,
        validate_input: bool | None = None,
    ) -> AsyncPrediction[PredictionResult]: ...
    @overload
    async def create(
        self,
        model: None = None,
        *,
        deployment: str,
        input: Mapping[str, object],
        wait_timeout: float | None = None,
        webhook: str | None = None,
        webhook_events_filter: Iterable[WebhookEvent] | None = None,
        cancel_after: float | None = None,
        file_encoding: FileEncoding | None = None,
        validate_input: bool | None = None,
    ) -> AsyncPrediction[PredictionResult]: ...
    async def create(
        self,
        model: str | None = None,
        *,
        input: Mapping[str, object],
        version: str | None = None,
        deployment: str | None = None,
        wait_timeout: float | None = None,
        webhook: str | None = None,
        webhook_events_filter: Iterable[WebhookEvent] | None = None,
        cancel_after: float | None = None,
        file_encoding: FileEncoding | None = None,
        validate_input: bool | None = None,
    ) -> AsyncPrediction[PredictionResult]:
        """Start a prediction and return at once, without waiting for it.

        Args:
            model: a catalog name or alias, or any ``owner/name`` with `version` (on the
                official API, with or without one).
            input: the model's input, such as ``{"prompt": "..."}``. A `Path`, bytes or binary
                file object anywhere in it is sent as a file.
            version: a version hash, to pin one other than the catalog's.
            deployment: an ``owner/name`` deployment to run instead of a model (official API).
            wait_timeout: how long the prediction's ``wait()`` and ``stream()`` wait by
                default; the client's ``wait_timeout`` if not given.
            webhook: an http(s) URL that Replicate calls as the prediction runs (official API).
            webhook_events_filter: which events call it: ``start``, ``output``, ``logs``,
                ``completed``; all by default.
            cancel_after: seconds (5 or more) after which the server cancels the prediction,
                sent as ``Cancel-After`` (official API).
            file_encoding: how files in `input` go to the official API, for this call:
                ``"url"`` (upload) or ``"data-uri"`` (inline); the client's by default.
            validate_input: check `input` before sending it. ``None`` (the default) checks
                catalog models against the SDK's schemas; ``True`` also checks other models
                against the schema their version publishes, read with one ``GET`` per model
                and version and kept by the client (official API); ``False`` checks nothing.

        Raises:
            TypeError: neither or both of `model` and `deployment` are given, or a deployment
                with ``validate_input=True``.
            ValueError: an option is not one the API accepts.
            InputValidationError: `input` does not fit the model's schema; nothing is created.
            UnsupportedFeatureError: the homepage backend cannot run a deployment or take a
                webhook or ``cancel_after``; no request is made.
        """
        call = Creation(
            model=model,
            deployment=deployment,
            version=version,
            input=input,
            wait_timeout=wait_timeout,
            webhook=webhook,
            webhook_events_filter=webhook_events_filter,
            cancel_after=cancel_after,
            file_encoding=file_encoding,
            validate_input=validate_input,
        )
        flow, kind = call.plan(self._driver.lifecycle, self._schemas)
        snapshot = await self._driver.run(flow)
        return AsyncPrediction(
            self._driver, snapshot, kind, created=True, wait_timeout=wait_timeout
        )

    async def get(self, id: str) -> AsyncPrediction[PredictionResult]:
        """Look up a prediction by id.

        Raises:
            ValueError: `id` cannot be a prediction id (letters, digits, ``_`` and ``-``).
        """
        lifecycle = self._driver.lifecycle
        snapshot = await self._driver.run(
            lifecycle.get(check_prediction_id(id), lifecycle.deadline())
        )
        return AsyncPrediction(self._driver, snapshot, None, created=False)

    def list(self) -> AsyncIterator[AsyncPrediction[PredictionResult]]:
        """The account's predictions, newest first: ``async for p in client.predictions.list()``.

        Pages are read as you iterate.

        Raises:
            UnsupportedFeatureError: on the homepage backend, at once, before any request.
        """
        listing = Listing(self._driver.lifecycle.protocol)
        return self._pages(listing)

    async def _pages(self, listing: Listing) -> AsyncIterator[AsyncPrediction[PredictionResult]]:
        lifecycle = self._driver.lifecycle
        while listing.request is not None:
            page = await self._driver.run(lifecycle.list_page(listing, lifecycle.deadline()))
            for snapshot in page.results:
                yield AsyncPrediction(self._driver, snapshot, None, created=False)


class Models:
    """``client.models``: read a model and its input schema (official API)."""

    def __init__(self, driver: SyncDriver, schemas: SchemaCache) -> None:
        self._driver = driver
        self._schemas = schemas

    def get(self, name: str) -> Model:
        """The model `name` (``owner/name``, or a catalog alias), with its latest version.

        Its input schema is kept, so that ``predictions.create(name, ...,
        validate_input=True)`` checks against it without reading it again.

        Raises:
            ValueError: `name` is not an ``owner/name``, before any request.
            UnsupportedFeatureError: on the homepage backend, before any request.
            NotFoundError: the server has no such model (or not for your token).
        """
        lifecycle = self._driver.lifecycle
        flow = ModelSchemas(lifecycle, self._schemas).get_model(name, lifecycle.deadline())
        return self._driver.run(flow)


class AsyncModels:
    """``client.models``: read a model and its input schema (official API)."""

    def __init__(self, driver: AsyncDriver, schemas: SchemaCache) -> None:
        self._driver = driver
        self._schemas = schemas

    async def get(self, name: str) -> Model:
        """The model `name` (``owner/name``, or a catalog alias), with its latest version.

        Its input schema is kept, so that ``predictions.create(name, ...,
        validate_input=True)`` checks against it without reading it again.

        Raises:
            ValueError: `name` is not an ``owner/name``, before any request.
            UnsupportedFeatureError: on the homepage backend, before any request.
            NotFoundError: the server has no such model (or not for your token).
        """
        lifecycle = self._driver.lifecycle
        flow = ModelSchemas(lifecycle, self._schemas).get_model(name, lifecycle.deadline())
        return await self._driver.run(flow)


class Webhooks:
    """``client.webhooks``: the account's webhook signing secret (official API only)."""

    def __init__(self, driver: SyncDriver) -> None:
        self._driver = driver

    def default_secret(self) -> str:
        """The signing secret of the account's default webhook, ``whsec_...``.

        Pass it to `replicatehome.webhooks.verify` to check deliveries. It is a secret: keep it
        out of logs and source code.

        Raises:
            UnsupportedFeatureError: on the homepage backend, before any request.
        """
        lifecycle = self._driver.lifecycle
        return self._driver.run(lifecycle.webhook_secret(lifecycle.deadline()))


class AsyncWebhooks:
    """``client.webhooks``: the account's webhook signing secret (official API only)."""

    def __init__(self, driver: AsyncDriver) -> None:
        self._driver = driver

    async def default_secret(self) -> str:
        """The signing secret of the account's default webhook, ``whsec_...``.

        Pass it to `replicatehome.webhooks.verify` to check deliveries. It is a secret: keep it
        out of logs and source code.

        Raises:
            UnsupportedFeatureError: on the homepage backend, before any request.
        """
        lifecycle = self._driver.lifecycle
        return await self._driver.run(lifecycle.webhook_secret(lifecycle.deadline()))


_OPTIONS_DOC = """
    All options are keyword-only:

    Args:
        api_token: a Replicate API token (``r8_...``); ``$REPLICATE_API_TOKEN`` by default.
            With a token, the client uses the official API unless `backend` says otherwise.
        backend: ``"homepage"`` or ``"official"``, to choose the protocol explicitly.
        base_url: the server; ``$REPLICATEHOME_BASE_URL``, else ``https://homepage.replicate.com``
            (homepage) or ``https://api.replicate.com`` (official).
        timeout: per-request HTTP timeout, in seconds or as an `httpx.Timeout`
            (default: 30 s, 5 s to connect).
        max_retries: retries of each request on transient failures (default 2).
        retry_backoff: the first retry's back-off in seconds (default 0.5); it doubles at each
            retry, up to 8 s, plus jitter, unless the server's ``Retry-After`` asks for longer.
            Tests against a local server can make it tiny.
        wait_timeout: the overall deadline for waiting on a prediction (default 300 s).
        poll_interval: the longest gap between polls (default 1 s); a wait polls every 0.5 s
            (at most `poll_interval`) for its first 20 polls, then every `poll_interval`.
        headers: extra headers for every request; they override the defaults.
        http_client: your own httpx client (for proxies, transports, limits). You close it.
            A blocking client of your own ends a trickling answer at its read timeout past
            the deadline, not at the deadline (see the security notes).
        max_response_bytes: the most bytes of one decoded answer, and of a prediction's
            streamed text (default 16 MiB).
        max_event_bytes: the longest line or event of an event stream (default 1 MiB).
        max_download_bytes: the largest output file a download accepts (default 256 MiB).
        trusted_hosts: hosts, besides `base_url`'s own, that may receive the API token when
            the server points a stream there; ``"*.example.com"`` matches subdomains, and only
            https is trusted. Default: Replicate's hosts with the default `base_url`, else none.
        file_encoding: how files in an input go to the official API: ``"url"`` uploads each
            (up to 100 MiB) and sends its URL, ``"data-uri"`` sends it inline (up to 10 MiB).
            The homepage backend always takes them inline. Default ``"url"``.
"""


D = TypeVar("D", "SyncDriver", "AsyncDriver")


class _ClientBase(Generic[D]):
    """What both clients share: the base URL, the schemas read, the options, `with_options`."""

    _driver: D
    _schemas: SchemaCache
    """The input schemas this client has read, shared with its `with_options` twins."""
    _base_url: str
    _options: ClientOptions
    _owns_http: bool

    @property
    def base_url(self) -> str:
        """The server this client talks to."""
        return self._base_url

    @property
    def poll_stats(self) -> PollStats:
        """What this client has learned of past runs, per model, to poll when one will end.

        ``client.poll_stats.export()`` gives JSON-ready data; ``poll_stats.seed(data)`` warms a
        new client (in a new process, say) with it.
        """
        return self._driver.lifecycle.history

    @property
    def backend(self) -> BackendName:
        """The protocol in use: ``"homepage"`` or ``"official"``."""
        return self._driver.lifecycle.protocol.name

    def with_options(
        self,
        *,
        wait_timeout: float | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Self:
        """A client like this one with some options changed: ``client.with_options(max_retries=0)``.

        It shares this client's connections and what it has learned of past runs
        (`poll_stats`), so it is cheap to make per call. `headers` are added to this client's.
        Closing it does nothing; closing this client closes both.

        Raises:
            ValueError: an option is out of range, as for the constructor.
        """
        options = ClientOptions(**self._options)
        if wait_timeout is not None:
            options["wait_timeout"] = wait_timeout
        if timeout is not None:
            options["timeout"] = timeout
        if max_retries is not None:
            options["max_retries"] = max_retries
        if headers is not None:
            options["headers"] = {**(options["headers"] or {}), **headers}
        _, lifecycle = configure(**options, history=self.poll_stats)
        twin = copy.copy(self)
        twin._options = options
        twin._owns_http = False
        twin._driver = copy.copy(self._driver)
        twin._driver.lifecycle = lifecycle
        return twin

    def __repr__(self) -> str:
        return f"{type(self).__name__}(backend={self.backend!r}, base_url={self._base_url!r})"


class Client(_ClientBase[SyncDriver]):
    """The synchronous client. Safe to share between threads.

    Examples:
        >>> with Client() as client:
        ...     print(client.generate_text("Write a haiku").text)
    """

    __doc__ = (__doc__ or "") + _OPTIONS_DOC

    def __init__(
        self,
        *,
        api_token: str | None = None,
        backend: BackendName | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = DEFAULT_RETRY.max_retries,
        retry_backoff: float = DEFAULT_RETRY.backoff,
        wait_timeout: float = DEFAULT_WAIT_TIMEOUT,
        poll_interval: float = DEFAULT_RETRY.poll_interval,
        headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
        max_response_bytes: int = DEFAULT_LIMITS.response,
        max_event_bytes: int = DEFAULT_LIMITS.event,
        max_download_bytes: int = DEFAULT_LIMITS.download,
        trusted_hosts: Iterable[str] | None = None,
        file_encoding: FileEncoding = DEFAULT_FILE_ENCODING,
    ) -> None:
        self._owns_http = http_client is None
        self._options = ClientOptions(
            api_token=api_token,
            backend=backend,
            http_client=http_client,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            retry_backoff=retry_backoff,
            wait_timeout=wait_timeout,
            poll_interval=poll_interval,
            headers=headers,
            max_response_bytes=max_response_bytes,
            max_event_bytes=max_event_bytes,
            max_download_bytes=max_download_bytes,
            trusted_hosts=trusted_hosts,
            file_encoding=file_encoding,
        )
        self._base_url, lifecycle = configure(**self._options)
        self._schemas = SchemaCache()
        self._driver = SyncDriver(SyncSender.of(http_client), lifecycle)

    @property
    def predictions(self) -> Predictions:
        """Start, look up and list predictions."""
        return Predictions(self._driver, self._schemas)

    @property
    def models(self) -> Models:
        """Read models and their input schemas (official API)."""
        return Models(self._driver, self._schemas)

    @property
    def webhooks(self) -> Webhooks:
        """The webhook signing secret; check deliveries with `replicatehome.webhooks.verify`."""
        return Webhooks(self._driver)

    @overload
    def generate_text(
        self,
        prompt: str | None = ...,
        *,
        messages: Sequence[Message] | None = ...,
        model: GemmaName = ...,
        version: str | None = ...,
        input: Mapping[str, object] | None = ...,
        extra_input: Mapping[str, object] | None = ...,
        wait_timeout: float | None = ...,
        file_encoding: FileEncoding | None = ...,
        **model_inputs: Unpack[GemmaInputs],
    ) -> TextResult: ...
    @overload
    def generate_text(
        self,
        prompt: str | None = ...,
        *,
        messages: Sequence[Message] | None = ...,
        model: str,
        version: str | None = ...,
        input: Mapping[str, object] | None = ...,
        extra_input: Mapping[str, object] | None = ...,
        wait_timeout: float | None = ...,
        file_encoding: FileEncoding | None = ...,
    ) -> TextResult: ...
    def generate_text(
        self,
        prompt: str | None = None,
        *,
        messages: Sequence[Message] | None = None,
        model: str = DEFAULT_TEXT_MODEL,
        version: str | None = None,
        input: Mapping[str, object] | None = None,
        extra_input: Mapping[str, object] | None = None,
        wait_timeout: float | None = None,
        file_encoding: FileEncoding | None = None,
        **model_inputs: object,
    ) -> TextResult:
        """Generate text and return it when the prediction ends.

        Args:
            prompt: the prompt; wins over `messages` when both are given.
            messages: chat messages, turned into one prompt (see `replicatehome.prompts`).
            model: a text model's name or alias.
            version: a version hash, for models outside the catalog.
            input: model inputs as a mapping, for names that are not Python keywords or that
                are the client's options.
            extra_input: model inputs sent as they are, unchecked: for an input the model
                has gained since this SDK's schema of it (see docs/inputs.md).
            wait_timeout: seconds this call may wait at most; the client's by default.
            file_encoding: how files among the inputs go to the official API, for this call.
            **model_inputs: more model inputs, such as ``max_new_tokens=128``. A client
                option's name (``timeout``, say) is refused: see docs/usage.md.

        The input of a catalog model (the prompt, `input` and the keywords) is checked against
        its schema before any request; other models' inputs are sent as they are, and static
        type checkers see their inputs in `input` and `extra_input` only (docs/inputs.md).

        Raises:
            InputValidationError: the input does not fit the catalog model's schema.
        """
        call = Generation(
            kind="text",
            method="generate_text",
            model=model,
            version=version,
            prompt=prompt,
            messages=messages,
            input=input,
            keywords=model_inputs,
            extra_input=extra_input,
            wait_timeout=wait_timeout,
            file_encoding=file_encoding,
        )
        snapshot = self._driver.run(call.plan(self._driver.lifecycle))
        return TextResult(text_of(snapshot), snapshot)

    @overload
    def stream_text(
        self,
        prompt: str | None = ...,
        *,
        messages: Sequence[Message] | None = ...,
        model: GemmaName = ...,
        version: str | None = ...,
        input: Mapping[str, object] | None = ...,
        extra_input: Mapping[str, object] | None = ...,
        wait_timeout: float | None = ...,
        file_encoding: FileEncoding | None = ...,
        **model_inputs: Unpack[GemmaInputs],
    ) -> Iterator[str]: ...
    @overload
    def stream_text(
        self,
        prompt: str | None = ...,
        *,
        messages: Sequence[Message] | None = ...,
        model: str,
        version: str | None = ...,
        input: Mapping[str, object] | None = ...,
        extra_input: Mapping[str, object] | None = ...,
        wait_timeout: float | None = ...,
        file_encoding: FileEncoding | None = ...,
    ) -> Iterator[str]: ...
    def stream_text(
        self,
        prompt: str | None = None,
        *,
        messages: Sequence[Message] | None = None,
        model: str = DEFAULT_TEXT_MODEL,
        version: str | None = None,
        input: Mapping[str, object] | None = None,
        extra_input: Mapping[str, object] | None = None,
        wait_timeout: float | None = None,
        file_encoding: FileEncoding | None = None,
        **model_inputs: object,
    ) -> Iterator[str]:
        """Generate text and yield it chunk by chunk as the server produces it.

        Takes the same arguments as `generate_text`.
        """
        call = Generation(
            kind="text",
            method="stream_text",
            model=model,
            version=version,
            prompt=prompt,
            messages=messages,
            input=input,
            keywords=model_inputs,
            extra_input=extra_input,
            wait_timeout=wait_timeout,
            file_encoding=file_encoding,
            stream=True,
        )
        return self._driver.iterate(call.plan(self._driver.lifecycle), str)

    @overload
    def generate_image(
        self,
        prompt: str | None = ...,
        *,
        messages: Sequence[Message] | None = ...,
        model: StableDiffusion3Name = ...,
        version: str | None = ...,
        input: Mapping[str, object] | None = ...,
        extra_input: Mapping[str, object] | None = ...,
        wait_timeout: float | None = ...,
        file_encoding: FileEncoding | None = ...,
        **model_inputs: Unpack[StableDiffusion3Inputs],
    ) -> ImageResult: ...
    @overload
    def generate_image(
        self,
        prompt: str | None = ...,
        *,
        messages: Sequence[Message] | None = ...,
        model: SDXLLightningName,
        version: str | None = ...,
        input: Mapping[str, object] | None = ...,
        extra_input: Mapping[str, object] | None = ...,
        wait_timeout: float | None = ...,
        file_encoding: FileEncoding | None = ...,
        **model_inputs: Unpack[SDXLLightningInputs],
    ) -> ImageResult: ...
    @overload
    def generate_image(
        self,
        prompt: str | None = ...,
        *,
        messages: Sequence[Message] | None = ...,
        model: PlaygroundName,
        version: str | None = ...,
        input: Mapping[str, object] | None = ...,
        extra_input: Mapping[str, object] | None = ...,
        wait_timeout: float | None = ...,
        file_encoding: FileEncoding | None = ...,
        **model_inputs: Unpack[PlaygroundInputs],
    ) -> ImageResult: ...
    @overload
    def generate_image(
        self,
        prompt: str | None = ...,
        *,
        messages: Sequence[Message] | None = ...,
        model: str,
        version: str | None = ...,
        input: Mapping[str, object] | None = ...,
        extra_input: Mapping[str, object] | None = ...,
        wait_timeout: float | None = ...,
        file_encoding: FileEncoding | None = ...,
    ) -> ImageResult: ...
    def generate_image(
        self,
        prompt: str | None = None,
        *,
        messages: Sequence[Message] | None = None,
        model: str = DEFAULT_IMAGE_MODEL,
        version: str | None = None,
        input: Mapping[str, object] | None = None,
        extra_input: Mapping[str, object] | None = None,
        wait_timeout: float | None = None,
        file_encoding: FileEncoding | None = None,
        **model_inputs: object,
    ) -> ImageResult:
        """Generate an image and return its URLs when the prediction ends.

        Args:
            prompt: the prompt; wins over `messages` when both are given.
            messages: chat messages; the last one's content is the prompt.
            model: an image model's name or alias.
            version: a version hash, for models outside the catalog.
            input: model inputs as a mapping, for names that are not Python keywords or that
                are the client's options.
            extra_input: model inputs sent as they are, unchecked: for an input the model
                has gained since this SDK's schema of it (see docs/inputs.md).
            wait_timeout: seconds this call may wait at most; the client's by default.
            file_encoding: how files among the inputs go to the official API, for this call.
            **model_inputs: more model inputs, such as ``aspect_ratio="16:9"``. A client
                option's name (``timeout``, say) is refused: see docs/usage.md.

        The input of a catalog model (the prompt, `input` and the keywords) is checked against
        its schema before any request; other models' inputs are sent as they are, and static
        type checkers see their inputs in `input` and `extra_input` only (docs/inputs.md).

        Raises:
            InputValidationError: the input does not fit the catalog model's schema.
        """
        call = Generation(
            kind="image",
            method="generate_image",
            model=model,
            version=version,
            prompt=prompt,
            messages=messages,
            input=input,
            keywords=model_inputs,
            extra_input=extra_input,
            wait_timeout=wait_timeout,
            file_encoding=file_encoding,
        )
        snapshot = self._driver.run(call.plan(self._driver.lifecycle))
        return ImageResult(image_urls(snapshot), snapshot, fetch=sync_fetch(self._driver))

    def close(self) -> None:
        """Close the connections, unless the `http_client` was yours."""
        if self._owns_http:
            self._driver.sender.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class AsyncClient(_ClientBase["AsyncDriver"]):
    """The asyncio client. Share one per event loop.

    Examples:
        >>> async with AsyncClient() as client:
        ...     image = await client.generate_image("A dog in space")
    """

    __doc__ = (__doc__ or "") + _OPTIONS_DOC

    def __init__(
        self,
        *,
        api_token: str | None = None,
        backend: BackendName | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = DEFAULT_RETRY.max_retries,
        retry_backoff: float = DEFAULT_RETRY.backoff,
        wait_timeout: float = DEFAULT_WAIT_TIMEOUT,
        poll_interval: float = DEFAULT_RETRY.poll_interval,
        headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
        max_response_bytes: int = DEFAULT_LIMITS.response,
        max_event_bytes: int = DEFAULT_LIMITS.event,
        max_download_bytes: int = DEFAULT_LIMITS.download,
        trusted_hosts: Iterable[str] | None = None,
        file_encoding: FileEncoding = DEFAULT_FILE_ENCODING,
    ) -> None:
        self._owns_http = http_client is None
        self._options = ClientOptions(
            api_token=api_token,
            backend=backend,
            http_client=http_client,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            retry_backoff=retry_backoff,
            wait_timeout=wait_timeout,
            poll_interval=poll_interval,
            headers=headers,
            max_response_bytes=max_response_bytes,
            max_event_bytes=max_event_bytes,
            max_download_bytes=max_download_bytes,
            trusted_hosts=trusted_hosts,
            file_encoding=file_encoding,
        )
        self._base_url, lifecycle = configure(**self._options)
        self._schemas = SchemaCache()
        # Here rather than at the top, so that a script using only `Client` never imports asyncio.
        from ._async_driver import AsyncDriver

        self._driver = AsyncDriver(AsyncSender.of(http_client), lifecycle)

    @property
    def predictions(self) -> AsyncPredictions:
        """Start, look up and list predictions."""
        return AsyncPredictions(self._driver, self._schemas)

    @property
    def models(self) -> AsyncModels:
        """Read models and their input schemas (official API)."""
        return AsyncModels(self._driver, self._schemas)

    @property
    def webhooks(self) -> AsyncWebhooks:
        """The webhook signing secret; check deliveries with `replicatehome.webhooks.verify`."""
        return AsyncWebhooks(self._driver)

    @overload
    async def generate_text(
        self,
        prompt: str | None = ...,
        *,
        messages: Sequence[Message] | None = ...,
        model: GemmaName = ...,
        version: str | None = ...,
        input: Mapping[str, object] | None = ...,
        extra_input: Mapping[str, object] | None = ...,
        wait_timeout: float | None = ...,
        file_encoding: FileEncoding | None = ...,
        **model_inputs: Unpack[GemmaInputs],
    ) -> TextResult: ...
    @overload
    async def generate_text(
        self,
        prompt: str | None = ...,
        *,
        messages: Sequence[Message] | None = ...,
        model: str,
        version: str | None = ...,
        input: Mapping[str, object] | None = ...,
        extra_input: Mapping[str, object] | None = ...,
        wait_timeout: float | None = ...,
        file_encoding: FileEncoding | None = ...,
    ) -> TextResult: ...
    async def generate_text(
        self,
        prompt: str | None = None,
        *,
        messages: Sequence[Message] | None = None,
        model: str = DEFAULT_TEXT_MODEL,
        version: str | None = None,
        input: Mapping[str, object] | None = None,
        extra_input: Mapping[str, object] | None = None,
        wait_timeout: float | None = None,
        file_encoding: FileEncoding | None = None,
        **model_inputs: object,
    ) -> TextResult:
        """Generate text and return it when the prediction ends.

        Args:
            prompt: the prompt; wins over `messages` when both are given.
            messages: chat messages, turned into one prompt (see `replicatehome.prompts`).
            model: a text model's name or alias.
            version: a version hash, for models outside the catalog.
            input: model inputs as a mapping, for names that are not Python keywords or that
                are the client's options.
            extra_input: model inputs sent as they are, unchecked: for an input the model
                has gained since this SDK's schema of it (see docs/inputs.md).
            wait_timeout: seconds this call may wait at most; the client's by default.
            file_encoding: how files among the inputs go to the official API, for this call.
            **model_inputs: more model inputs, such as ``max_new_tokens=128``. A client
                option's name (``timeout``, say) is refused: see docs/usage.md.

        The input of a catalog model (the prompt, `input` and the keywords) is checked against
        its schema before any request; other models' inputs are sent as they are, and static
        type checkers see their inputs in `input` and `extra_input` only (docs/inputs.md).

        Raises:
            InputValidationError: the input does not fit the catalog model's schema.
        """
        call = Generation(
            kind="text",
            method="generate_text",
            model=model,
            version=version,
            prompt=prompt,
            messages=messages,
            input=input,
            keywords=model_inputs,
            extra_input=extra_input,
            wait_timeout=wait_timeout,
            file_encoding=file_encoding,
        )
        snapshot = await self._driver.run(call.plan(self._driver.lifecycle))
        return TextResult(text_of(snapshot), snapshot)

    @overload
    def stream_text(
        self,
        prompt: str | None = ...,
        *,
        messages: Sequence[Message] | None = ...,
        model: GemmaName = ...,
        version: str | None = ...,
        input: Mapping[str, object] | None = ...,
        extra_input: Mapping[str, object] | None = ...,
        wait_timeout: float | None = ...,
        file_encoding: FileEncoding | None = ...,
        **model_inputs: Unpack[GemmaInputs],
    ) -> AsyncIterator[str]: ...
    @overload
    def stream_text(
        self,
        prompt: str | None = ...,
        *,
        messages: Sequence[Message] | None = ...,
        model: str,
        version: str | None = ...,
        input: Mapping[str, object] | None = ...,
        extra_input: Mapping[str, object] | None = ...,
        wait_timeout: float | None = ...,
        file_encoding: FileEncoding | None = ...,
    ) -> AsyncIterator[str]: ...
    def stream_text(
        self,
        prompt: str | None = None,
        *,
        messages: Sequence[Message] | None = None,
        model: str = DEFAULT_TEXT_MODEL,
        version: str | None = None,
        input: Mapping[str, object] | None = None,
        extra_input: Mapping[str, object] | None = None,
        wait_timeout: float | None = None,
        file_encoding: FileEncoding | None = None,
        **model_inputs: object,
    ) -> AsyncIterator[str]:
        """Generate text and yield it chunk by chunk: ``async for chunk in client.stream_text()``.

        Takes the same arguments as `generate_text`.
        """
        call = Generation(
            kind="text",
            method="stream_text",
            model=model,
            version=version,
            prompt=prompt,
            messages=messages,
            input=input,
            keywords=model_inputs,
            extra_input=extra_input,
            wait_timeout=wait_timeout,
            file_encoding=file_encoding,
            stream=True,
        )
        return self._driver.iterate(call.plan(self._driver.lifecycle), str)

    @overload
    async def generate_image(
        self,
        prompt: str | None = ...,
        *,
        messages: Sequence[Message] | None = ...,
        model: StableDiffusion3Name = ...,
        version: str | None = ...,
        input: Mapping[str, object] | None = ...,
        extra_input: Mapping[str, object] | None = ...,
        wait_timeout: float | None = ...,
        file_encoding: FileEncoding | None = ...,
        **model_inputs: Unpack[StableDiffusion3Inputs],
    ) -> ImageResult: ...
    @overload
    async def generate_image(
        self,
        prompt: str | None = ...,
        *,
        messages: Sequence[Message] | None = ...,
        model: SDXLLightningName,
        version: str | None = ...,
        input: Mapping[str, object] | None = ...,
        extra_input: Mapping[str, object] | None = ...,
        wait_timeout: float | None = ...,
        file_encoding: FileEncoding | None = ...,
        **model_inputs: Unpack[SDXLLightningInputs],
    ) -> ImageResult: ...
    @overload
    async def generate_image(
        self,
        prompt: str | None = ...,
        *,
        messages: Sequence[Message] | None = ...,
        model: PlaygroundName,
        version: str | None = ...,
        input: Mapping[str, object] | None = ...,
        extra_input: Mapping[str, object] | None = ...,
        wait_timeout: float | None = ...,
        file_encoding: FileEncoding | None = ...,
        **model_inputs: Unpack[PlaygroundInputs],
    ) -> ImageResult: ...
    @overload
    async def generate_image(
        self,
        prompt: str | None = ...,
        *,
        messages: Sequence[Message] | None = ...,
        model: str,
        version: str | None = ...,
        input: Mapping[str, object] | None = ...,
        extra_input: Mapping[str, object] | None = ...,
        wait_timeout: float | None = ...,
        file_encoding: FileEncoding | None = ...,
    ) -> ImageResult: ...
    async def generate_image(
        self,
        prompt: str | None = None,
        *,
        messages: Sequence[Message] | None = None,
        model: str = DEFAULT_IMAGE_MODEL,
        version: str | None = None,
        input: Mapping[str, object] | None = None,
        extra_input: Mapping[str, object] | None = None,
        wait_timeout: float | None = None,
        file_encoding: FileEncoding | None = None,
        **model_inputs: object,
    ) -> ImageResult:
        """Generate an image and return its URLs when the prediction ends.

        Args:
            prompt: the prompt; wins over `messages` when both are given.
            messages: chat messages; the last one's content is the prompt.
            model: an image model's name or alias.
            version: a version hash, for models outside the catalog.
            input: model inputs as a mapping, for names that are not Python keywords or that
                are the client's options.
            extra_input: model inputs sent as they are, unchecked: for an input the model
                has gained since this SDK's schema of it (see docs/inputs.md).
            wait_timeout: seconds this call may wait at most; the client's by default.
            file_encoding: how files among the inputs go to the official API, for this call.
            **model_inputs: more model inputs, such as ``aspect_ratio="16:9"``. A client
                option's name (``timeout``, say) is refused: see docs/usage.md.

        The input of a catalog model (the prompt, `input` and the keywords) is checked against
        its schema before any request; other models' inputs are sent as they are, and static
        type checkers see their inputs in `input` and `extra_input` only (docs/inputs.md).

        Raises:
            InputValidationError: the input does not fit the catalog model's schema.
        """
        call = Generation(
            kind="image",
            method="generate_image",
            model=model,
            version=version,
            prompt=prompt,
            messages=messages,
            input=input,
            keywords=model_inputs,
            extra_input=extra_input,
            wait_timeout=wait_timeout,
            file_encoding=file_encoding,
        )
        snapshot = await self._driver.run(call.plan(self._driver.lifecycle))
        return ImageResult(image_urls(snapshot), snapshot, afetch=async_fetch(self._driver))

    async def aclose(self) -> None:
        """Close the connections, unless the `http_client` was yours."""
        if self._owns_http:
            await self._driver.sender.http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
