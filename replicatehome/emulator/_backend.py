"""The emulator's live state, shared by both protocols' routes: models, predictions, dice, counters.

Routes only parse requests and shape answers; what a prediction is and does is decided here and
in ``_state.py``, so the homepage protocol and the official ``/v1`` API behave the same.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from ..catalog import ModelSpec
from ._config import EmulatorConfig
from ._faults import FaultInjector
from ._inputs import ParsedInput
from ._state import (
    Clock,
    Plan,
    PredictionStore,
    Record,
    Source,
    emulated_tokens,
)
from ._stats import EmulatorStats
from ._uploads import UploadStore
from ._webhooks import WebhookDispatcher

if TYPE_CHECKING:
    from pydantic import JsonValue

__all__ = ["TICK", "Backend"]

TICK: Final = 0.05
"""Longest sleep of a held request or an event stream, in seconds: how soon they notice a cancel
or a server that is stopping."""


class Backend:
    """Everything the routes share. Thread-safe: the parts it holds are."""

    def __init__(
        self, config: EmulatorConfig, *, clock: Clock = time.monotonic, wall_epoch: float | None
    ) -> None:
        """Create the state for `config`; `clock` and `wall_epoch` go to the `PredictionStore`."""
        self.config = config
        self.stats = EmulatorStats()
        self.store = PredictionStore(
            clock=clock,
            wall_epoch=wall_epoch,
            ttl=config.prediction_ttl,
            max_predictions=config.max_predictions,
            on_drop=self.stats.forget,
        )
        self.injector = FaultInjector(config.faults)
        self.models: dict[str, ModelSpec] = {spec.name: spec for spec in config.models}
        self._by_version = {self.version_of(spec): spec for spec in config.models}
        deployed = config.deployments
        self.deployments: dict[str, ModelSpec] = (
            dict(self.models)
            if deployed is None
            else {name: self.models[model] for name, model in deployed.items()}
        )
        self.uploads = UploadStore(clock=clock)
        self._draining = threading.Event()
        self.webhooks = WebhookDispatcher(
            self.store,
            self.stats,
            secret=config.webhook_secret,
            retry_delays=config.webhook_retry_delays,
            draining=self._draining.is_set,
        )

    @property
    def draining(self) -> bool:
        """Whether the server is stopping: held requests and event streams then end at once."""
        return self._draining.is_set()

    @draining.setter
    def draining(self, value: bool) -> None:
        if value:
            self._draining.set()
        else:
            self._draining.clear()

    def reset(self) -> None:
        """Forget every prediction and file, zero the counters, put back the configured faults."""
        self.store.clear()
        self.uploads.clear()
        self.stats.reset()
        self.injector.faults = self.config.faults

    @staticmethod
    def version_of(spec: ModelSpec) -> str:
        """The model's version id; one is made up from the name for a model configured without."""
        return spec.version or hashlib.sha256(f"version:{spec.name}".encode()).hexdigest()

    def model_for_version(self, version_id: str) -> ModelSpec | None:
        """The model that has this version id, or ``None``."""
        return self._by_version.get(version_id)

    @staticmethod
    def streams(spec: ModelSpec) -> bool:
        """Whether the model's predictions can be streamed: text models can, image models not."""
        return spec.kind != "image"

    def poll(self, prediction_id: str) -> Record | None:
        """The prediction with this id, counted as polled; ``None`` for an unknown one.

        Only known ids are counted: a client polling made-up ids cannot grow the counters.
        """
        record = self.store.get(prediction_id)
        if record is not None:
            self.stats.count_poll(prediction_id)
        return record

    def create(
        self,
        spec: ModelSpec,
        version: str,
        inputs: Mapping[str, JsonValue],
        parsed: ParsedInput,
        *,
        source: Source = "api",
        cancel_after: float | None = None,
        deployment: str | None = None,
    ) -> Record:
        """Create a prediction that starts now, with the fate the faults give it, and count it.

        `source`, `cancel_after` and `deployment` go to `PredictionStore.create`.
        """
        fate = self.injector.for_prediction()
        plan = Plan(
            starting=self.config.starting,
            duration=self.config.duration if parsed.duration is None else parsed.duration,
            tokens=()
            if parsed.images
            else emulated_tokens(spec.name, parsed.prompt, max_new_tokens=parsed.max_new_tokens),
            images=parsed.images,
            picture=parsed.picture,
            error=fate.error,
            never_finish=fate.never_finish,
        )
        self.stats.count_prediction()
        return self.store.create(
            spec,
            version,
            inputs,
            parsed.prompt,
            plan,
            source=source,
            cancel_after=cancel_after,
            deployment=deployment,
        )
