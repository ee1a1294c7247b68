"""What a ``predictions.create`` call runs and sends, settled at call time, before any request.

The arguments are checked and the model resolved when the call is made; the input is checked
(`ModelSchemas.check_input`) by the flow, before it sends it, as a published schema may have to
be read first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ._call_inputs import check_wait_timeout, create_options
from ._file_inputs import FileEncoding
from ._lifecycle import Flow, Lifecycle
from ._model_schemas import ModelSchemas
from ._models import PredictionSnapshot
from ._protocols import Deployment, Target, WebhookEvent
from ._schema_cache import SchemaCache
from .catalog import Kind, ModelSpec

__all__ = ["Creation"]


@dataclass(frozen=True, slots=True)
class Creation:
    """One call of ``predictions.create``, as it was made."""

    model: str | None
    deployment: str | None
    version: str | None
    input: Mapping[str, object]
    wait_timeout: float | None
    webhook: str | None
    webhook_events_filter: Iterable[WebhookEvent] | None
    cancel_after: float | None
    file_encoding: FileEncoding | None
    validate_input: bool | None

    def plan(
        self, lifecycle: Lifecycle, schemas: SchemaCache
    ) -> tuple[Flow[PredictionSnapshot], Kind | None]:
        """The flow of this call, and the kind of its model when known.

        Raises:
            TypeError: neither or both of a model and a deployment, or a deployment with a
                version or with ``validate_input=True``.
            ValueError: an option is not one the API accepts.
            UnknownModelError: the backend cannot run the model as given.
        """
        if (self.model is None) == (self.deployment is None):
            raise TypeError("predictions.create() takes a model or a deployment, and not both")
        target: Target
        if self.deployment is not None:
            if self.version is not None:
                raise TypeError("a deployment runs the version it is set to: pass no version")
            if self.validate_input:
                # Its model and version are the deployment's, unknown here: no schema to check.
                raise TypeError(
                    "validate_input=True needs a model: a deployment's input is unchecked"
                )
            target = Deployment(self.deployment)
        else:
            assert self.model is not None
            target = lifecycle.protocol.model_spec(self.model, self.version)
        options = create_options(self.webhook, self.webhook_events_filter, self.cancel_after)
        check_wait_timeout(self.wait_timeout)
        deadline = lifecycle.deadline()

        def flow() -> Flow[PredictionSnapshot]:
            checks = ModelSchemas(lifecycle, schemas)
            yield from checks.check_input(target, self.input, deadline, self.validate_input)
            return (
                yield from lifecycle.create(
                    target, self.input, deadline, options=options, file_encoding=self.file_encoding
                )
            )

        return flow(), target.kind if isinstance(target, ModelSpec) else None
