"""gpt4free's ``ReplicateHome`` provider, kept compatible, as a thin layer over the SDK.

gpt4free has dropped the provider this project grew from. Code written against it keeps working
by changing one import::

    from replicatehome.compat.g4f import ReplicateHome

    async for chunk in ReplicateHome.create_async_generator(model="gemma-2b", messages=messages):
        print(chunk)

Requests, retries, polling and deadlines are `AsyncClient`'s (`Client`'s for the synchronous
`ReplicateHome.create_completion`); this module only translates the provider's interface.

When the ``g4f`` package is importable, `ReplicateHome` is a real gpt4free provider (a subclass
of its ``AsyncGeneratorProvider`` and ``ProviderModelMixin``) and `ImageResponse` a subclass of
its ``ImageResponse``, so ``g4f.client.AsyncClient(provider=ReplicateHome)`` works. Without g4f,
small stand-ins take their place. g4f is never a dependency. See
``docs/migrating-from-gpt4free.md``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Final, TypeAlias

import httpx

from .. import AsyncClient, Client, PredictionSnapshot
from .._config import DEFAULT_RETRY, DEFAULT_TIMEOUT  # the timeout for a proxy: httpx's is 5 s
from ..catalog import DEFAULT_IMAGE_MODEL, DEFAULT_TEXT_MODEL, MODELS, Kind
from ..errors import PredictionFailedError, PredictionTimeoutError, UnknownModelError
from ..prompts import Message, build_prompt
from ..results import ImageResult

__all__ = [
    "ImageResponse",
    "Messages",
    "ModelNotSupportedError",
    "ProviderFailedError",
    "ProviderTimeoutError",
    "ReplicateHome",
]

Messages: TypeAlias = Sequence[Mapping[str, object]]
"""Chat messages as gpt4free passes them: ``{"role": ..., "content": ...}`` mappings.

``content`` is a string, or a list of OpenAI-style parts whose text parts are used.
"""

_API_PATH: Final = "/api/prediction"
_SEED_API_ENDPOINT: Final = "https://homepage.replicate.com/api/prediction"

# Keyword arguments gpt4free (and callers written for it) give providers that are not model
# inputs: its client passes `stream`, `api_key`, `provider`, `base_url`, ...; the rest are
# OpenAI-style options these models do not have. `timeout` is read separately, as the deadline.
_NOT_INPUTS: Final = frozenset(
    {
        "api_key",
        "base_url",
        "cache",
        "conversation",
        "download_media",
        "history_disabled",
        "ignore_stream",
        "ignore_working",
        "image",
        "image_name",
        "images",
        "max_tokens",
        "media",
        "n",
        "parallel_tool_calls",
        "provider",
        "raw",
        "response_format",
        "return_conversation",
        "stop",
        "stream",
        "stream_timeout",
        "timeout",
        "tool_calls",
        "tool_choice",
        "tools",
        "user",
        "version",
        "web_search",
    }
)
# gpt4free's names for inputs these models have under another name.
_RENAMED: Final[Mapping[Kind, Mapping[str, str]]] = {
    "text": {"max_tokens": "max_new_tokens"},
    "image": {"n": "num_outputs"},
}


class _StandaloneProvider:
    """Stands in for gpt4free's ``AsyncGeneratorProvider`` when g4f is not installed."""


class _StandaloneModelMixin:
    """Stands in for gpt4free's ``ProviderModelMixin`` when g4f is not installed."""


class _StandaloneImageResponse:
    """Stands in for gpt4free's ``ImageResponse`` when g4f is not installed."""

    def __init__(
        self, urls: str | list[str], alt: str, options: dict[str, object] | None = None
    ) -> None:
        self.urls = urls
        """The image URL, or a list of them."""
        self.alt = alt
        """The alt text: the prompt."""
        self.options = options or {}
        """Extra data, as gpt4free's responses carry it."""

    def get(self, key: str, default: object = None) -> object:
        """An option's value, or `default`."""
        return self.options.get(key, default)

    def get_list(self) -> list[str]:
        """The image URLs as a list."""
        return [self.urls] if isinstance(self.urls, str) else self.urls

    def to_string(self) -> str:
        """The images as markdown, one linked image per line, as gpt4free renders them."""
        urls = self.get_list()
        if len(urls) == 1:
            return _markdown_image(urls[0], self.alt)
        return "\n".join(
            _markdown_image(url, f"#{number} {self.alt}")
            for number, url in enumerate(urls, start=1)
        )

    def __str__(self) -> str:
        return self.to_string()


def _markdown_image(url: str, alt: str) -> str:
    return f"[![{' '.join(alt.split())}]({url})]({url})"


if TYPE_CHECKING:
    # mypy checks against the stand-ins: g4f is optional, and untyped.
    _ProviderBase = _StandaloneProvider
    _ModelMixinBase = _StandaloneModelMixin
    _ImageResponseBase = _StandaloneImageResponse
else:
    try:
        from g4f.providers.base_provider import AsyncGeneratorProvider as _ProviderBase
        from g4f.providers.base_provider import ProviderModelMixin as _ModelMixinBase
        from g4f.providers.response import ImageResponse as _ImageResponseBase
    except ImportError:
        _ProviderBase = _StandaloneProvider
        _ModelMixinBase = _StandaloneModelMixin
        _ImageResponseBase = _StandaloneImageResponse


class ImageResponse(_ImageResponseBase):
    """What `ReplicateHome` yields for an image model: the image URLs, and the prompt as `alt`.

    ``str(response)`` is markdown, ``[![alt](url)](url)``. With g4f installed, this is a
    subclass of gpt4free's ``ImageResponse``, so its client treats it as an image.
    """

    def __init__(
        self, images: str | list[str], alt: str, options: dict[str, object] | None = None
    ) -> None:
        """Hold `images` (one URL, or a list of them) made from the prompt `alt`."""
        super().__init__(images, alt, options or {})

    @property
    def images(self) -> str | list[str]:
        """The image URL, or a list of them when the model made several."""
        return self.urls

    @property
    def image_url(self) -> str:
        """The first image's URL: "the" image, as the seed's example reads it."""
        return self.get_list()[0]

    def __repr__(self) -> str:
        return f"ImageResponse(images={self.images!r}, alt={self.alt!r})"


class ModelNotSupportedError(UnknownModelError):
    """An unknown model, named with gpt4free's wording. An `UnknownModelError`; no request made."""

    def __init__(self, name: str, known: tuple[str, ...], provider: str) -> None:
        """Say that `provider` does not know model `name`, and list the `known` names."""
        super().__init__(name, known)
        self.args = (
            f"Model is not supported: {name} in: {provider}. "
            f"Known models and aliases: {', '.join(known)}",
        )


class ProviderFailedError(PredictionFailedError):
    """A failed prediction, with the seed's message: ``Prediction failed: <server's error>``."""

    def __init__(self, prediction: PredictionSnapshot) -> None:
        """Report the failure of `prediction`; `.prediction` holds it."""
        super().__init__(prediction)
        self.args = (f"Prediction failed: {prediction.error or 'no error message given'}",)


class ProviderTimeoutError(PredictionTimeoutError):
    """A prediction still running at the deadline, with the seed's message."""

    def __init__(self, prediction: PredictionSnapshot, timeout: float) -> None:
        """Report that `prediction` did not finish in `timeout` seconds."""
        super().__init__(prediction, timeout)
        self.args = ("Prediction timed out",)


@contextmanager
def _seed_errors() -> Iterator[None]:
    # The SDK's messages name the prediction; the seed's callers may match on its wording.
    try:
        yield
    except PredictionFailedError as error:
        raise ProviderFailedError(error.prediction) from error
    except PredictionTimeoutError as error:
        raise ProviderTimeoutError(error.prediction, error.timeout) from error


@dataclass(frozen=True, slots=True)
class _Call:
    """One provider call, resolved and checked before any request."""

    model: str
    version: str | None
    kind: Kind
    prompt: str
    # Sent as `extra_input`, unchecked, as the seed sent them: gpt4free hands every provider the
    # same options. Never `prompt`, which is the provider's own parameter.
    input: dict[str, object]
    base_url: str | None
    wait_timeout: float


def _text_of(content: object) -> str:
    if isinstance(content, list):  # OpenAI-style parts: the text ones, as gpt4free joins them
        return "".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type", "text") == "text"
        )
    return "" if content is None else str(content)


def _model_input(kind: Kind, options: Mapping[str, object]) -> dict[str, object]:
    renamed = _RENAMED[kind]
    model_input: dict[str, object] = {}
    for key, value in options.items():
        if value is None:  # gpt4free's way of saying "not set"
            continue
        if key in renamed:
            model_input[renamed[key]] = value
        elif key not in _NOT_INPUTS:
            model_input[key] = value
    return model_input


def _base_url(api_endpoint: str) -> str | None:
    if api_endpoint == _SEED_API_ENDPOINT:
        return None  # the SDK's default, so $REPLICATEHOME_BASE_URL applies as everywhere else
    if not api_endpoint.endswith(_API_PATH):
        raise ValueError(
            f"api_endpoint must end with {_API_PATH!r}, the path the predictions are created "
            f"at; the poll URL is derived from it. Got {api_endpoint!r}."
        )
    return api_endpoint.removesuffix(_API_PATH)


def _image_response(result: ImageResult, prompt: str) -> ImageResponse:
    # One URL is passed as a string, as the seed did; several as a list.
    urls = list(result.urls)
    return ImageResponse(urls[0] if len(urls) == 1 else urls, prompt)


class ReplicateHome(_ProviderBase, _ModelMixinBase):
    """The seed's gpt4free provider for Replicate's home-page models, on top of the SDK.

    Use it as the seed documented it, or hand it to gpt4free's client when g4f is installed::

        async for chunk in ReplicateHome.create_async_generator("gemma-2b", messages):
            print(chunk, end="")

    Subclass it to change `api_endpoint` (the poll URL is derived from it), `wait_timeout` or
    `poll_interval`. While `api_endpoint` is the seed's, ``$REPLICATEHOME_BASE_URL`` redirects
    it, as it does every client of the SDK.
    """

    url: ClassVar[str] = "https://replicate.com"
    """The service's site."""
    api_endpoint: ClassVar[str] = _SEED_API_ENDPOINT
    """Where predictions are created; polls go to ``/api/poll`` beside it."""
    working: ClassVar[bool] = True
    """The provider works (gpt4free skips providers that do not)."""
    supports_stream: ClassVar[bool] = True
    """Text is yielded as it is generated."""

    default_model: ClassVar[str] = DEFAULT_TEXT_MODEL
    """The model used when none is named."""
    default_image_model: ClassVar[str] = DEFAULT_IMAGE_MODEL
    """The image model the seed suggested."""
    image_models: ClassVar[list[str]] = [spec.name for spec in MODELS if spec.kind == "image"]
    """The image models, in the catalog's order."""
    text_models: ClassVar[list[str]] = [spec.name for spec in MODELS if spec.kind == "text"]
    """The text models."""
    models: ClassVar[list[str]] = text_models + image_models
    """Every model: text models first."""
    model_aliases: ClassVar[dict[str, str]] = {
        spec.alias: spec.name for spec in MODELS if spec.alias is not None
    }
    """Short names, such as ``"sd-3"``, and the models they stand for."""
    model_versions: ClassVar[dict[str, str]] = {
        spec.name: spec.version for spec in MODELS if spec.version is not None
    }
    """The version hash each model runs at."""

    wait_timeout: ClassVar[float] = 150.0
    """Seconds to wait for a prediction: the seed's 30 polls 5 s apart. ``timeout=`` overrides."""
    poll_interval: ClassVar[float] = DEFAULT_RETRY.poll_interval
    """The longest gap between polls, in seconds (the SDK's default)."""

    @classmethod
    def get_models(cls, **kwargs: object) -> list[str]:
        """Every model's full name, as gpt4free's ``ProviderModelMixin.get_models`` returns."""
        return list(cls.models)

    @classmethod
    def get_model(cls, model: str, **kwargs: object) -> str:
        """The full name of `model`: an alias is mapped, an empty name is `default_model`.

        Raises:
            ModelNotSupportedError: `model` is neither a known name nor an alias.
        """
        if not model or model == "auto":  # gpt4free's names for "the default"
            return cls.default_model
        name = cls.model_aliases.get(model, model)
        if name not in cls.get_models():
            known = (*cls.models, *cls.model_aliases)
            raise ModelNotSupportedError(model, known, cls.__name__)
        return name

    @classmethod
    def _plan(
        cls,
        model: str,
        messages: Messages,
        prompt: str | None,
        options: Mapping[str, object],
    ) -> _Call:
        name = cls.get_model(model)
        kind: Kind = "image" if name in cls.image_models else "text"
        chat = [
            Message(role=str(message.get("role", "user")), content=_text_of(message.get("content")))
            for message in messages
        ]
        timeout = options.get("timeout")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float | None):
            raise TypeError(f"timeout must be a number of seconds, not {timeout!r}")
        return _Call(
            model=name,
            version=cls.model_versions.get(name),
            kind=kind,
            prompt=build_prompt(kind, prompt, chat),
            input=_model_input(kind, options),
            base_url=_base_url(cls.api_endpoint),
            wait_timeout=cls.wait_timeout if timeout is None else float(timeout),
        )

    @classmethod
    async def create_async_generator(
        cls,
        model: str,
        messages: Messages,
        prompt: str | None = None,
        proxy: str | None = None,
        **kwargs: object,
    ) -> AsyncIterator[str | ImageResponse]:
        """Run `model` and yield its output: text chunks as they arrive, or one `ImageResponse`.

        Args:
            model: a model's full name or alias (`models`, `model_aliases`).
            messages: the chat. Text models see a transcript (``"User: ...\\nAssistant:"``), or
                the content alone when there is one message; image models the last message.
            prompt: the prompt to send instead of one built from `messages`.
            proxy: a proxy URL for every request, such as ``"http://127.0.0.1:3128"``.
            **kwargs: model inputs, such as ``temperature=0.7``. ``timeout`` is the deadline in
                seconds (default `wait_timeout`); ``max_tokens`` becomes ``max_new_tokens`` for
                text and ``n`` becomes ``num_outputs`` for images. gpt4free's own options
                (``stream``, ``api_key``, ``conversation``, ``web_search``, ...) and ``None``
                values are not inputs and are dropped.

        Raises:
            ModelNotSupportedError: an unknown model, before any request.
            ProviderFailedError: the prediction failed (``Prediction failed: ...``).
            ProviderTimeoutError: the deadline passed first (``Prediction timed out``).
            replicatehome.ReplicateHomeError: anything else the SDK raises, such as
                `replicatehome.APIConnectionError`.
        """
        call = cls._plan(model, messages, prompt, kwargs)
        http = httpx.AsyncClient(proxy=proxy, timeout=DEFAULT_TIMEOUT) if proxy else None
        try:
            async with AsyncClient(
                backend="homepage",
                base_url=call.base_url,
                wait_timeout=call.wait_timeout,
                poll_interval=cls.poll_interval,
                http_client=http,
            ) as client:
                with _seed_errors():
                    if call.kind == "image":
                        image = await client.generate_image(
                            call.prompt,
                            model=call.model,
                            version=call.version,
                            extra_input=call.input,
                        )
                        yield _image_response(image, call.prompt)
                    else:
                        async for chunk in client.stream_text(
                            call.prompt,
                            model=call.model,
                            version=call.version,
                            extra_input=call.input,
                        ):
                            yield chunk
        finally:
            if http is not None:
                await http.aclose()

    @classmethod
    def create_completion(
        cls,
        model: str,
        messages: Messages,
        stream: bool = True,
        prompt: str | None = None,
        proxy: str | None = None,
        **kwargs: object,
    ) -> Iterator[str | ImageResponse]:
        """`create_async_generator`, as a plain generator, for code without an event loop.

        Takes the same arguments. `stream` is accepted for gpt4free and changes nothing: text
        is always yielded as it arrives.
        """
        call = cls._plan(model, messages, prompt, kwargs)
        http = httpx.Client(proxy=proxy, timeout=DEFAULT_TIMEOUT) if proxy else None
        try:
            with (
                Client(
                    backend="homepage",
                    base_url=call.base_url,
                    wait_timeout=call.wait_timeout,
                    poll_interval=cls.poll_interval,
                    http_client=http,
                ) as client,
                _seed_errors(),
            ):
                if call.kind == "image":
                    image = client.generate_image(
                        call.prompt, model=call.model, version=call.version, extra_input=call.input
                    )
                    yield _image_response(image, call.prompt)
                else:
                    yield from client.stream_text(
                        call.prompt, model=call.model, version=call.version, extra_input=call.input
                    )
        finally:
            if http is not None:
                http.close()
