"""Models and their input schemas, as one client reads them and keeps them.

``models.get`` reads a model; ``predictions.create(..., validate_input=)`` checks an input
before it is sent, against the SDK's own schema of a catalog model or the one another model
publishes. Both are the client's business, not the lifecycle's: these flows decide what to
read and what to check, and send through the lifecycle's `request` like any other.
"""

from __future__ import annotations

from collections.abc import Mapping

from ._input_schema import check_against
from ._lifecycle import Flow, Lifecycle
from ._models import Model, ModelVersion
from ._protocols import Deployment, Target
from ._responses import decode_model
from ._retry import Deadline
from ._schema_cache import SchemaCache
from ._untrusted import check_model_name, check_version_id
from .catalog import ModelSpec, find

__all__ = ["ModelSchemas"]


class ModelSchemas:
    """Reads models through `lifecycle`, keeps their schemas in `cache`, checks inputs with them.

    The cache is the client's, and outlives this object: make one per call, with the client's
    lifecycle of the moment.
    """

    def __init__(self, lifecycle: Lifecycle, cache: SchemaCache) -> None:
        self._lifecycle = lifecycle
        self._cache = cache

    def get_model(self, name: str, deadline: Deadline) -> Flow[Model]:
        """Read a model (``owner/name`` or a catalog alias) with its latest version.

        The version's schema is kept for `check_input`.

        Raises:
            ValueError: `name` is not an ``owner/name``, before any request.
        """
        known = find(name)
        name = check_model_name(name if known is None else known.name)
        request = self._lifecycle.protocol.model_request(name)
        response = yield from self._lifecycle.request(request, deadline, idempotent=True)
        model = decode_model(response, Model, {})
        latest = model.latest_version
        openapi = None if latest is None else latest.openapi_schema
        self._cache.put(name, None, openapi, len(response.content))
        return model

    def check_input(
        self,
        target: Target,
        input: Mapping[str, object],
        deadline: Deadline,
        validate_input: bool | None,
    ) -> Flow[None]:
        """Check `input` before a create: ``None`` checks catalog models only, ``False`` none.

        Catalog models are checked against the SDK's own schemas (`replicatehome.inputs`); with
        `validate_input` ``True``, other models against the schema their version publishes,
        read once per client (`SchemaCache`). A deployment's model is unknown: not checked.

        Raises:
            InputValidationError: the input does not fit, before any request but the schema's.
        """
        if validate_input is False or isinstance(target, Deployment):
            return
        # Imported here: its pydantic models take tens of milliseconds to build, which a
        # program that never creates need not pay when it imports the client.
        from .inputs import INPUT_MODELS, check_input

        if target.name in INPUT_MODELS:
            check_input(target.name, input)
            return
        if not validate_input:
            return
        openapi = self._cache.get(target.name, target.version)
        if openapi is None:
            openapi = yield from self._published_schema(target, deadline)
        check_against(openapi, target.name, input)

    def _published_schema(
        self, spec: ModelSpec, deadline: Deadline
    ) -> Flow[Mapping[str, object] | None]:
        """The OpenAPI schema of the version `spec` runs (the latest without one), kept."""
        if spec.version is None:
            model = yield from self.get_model(spec.name, deadline)
            latest = model.latest_version
            return None if latest is None else latest.openapi_schema
        request = self._lifecycle.protocol.version_request(
            check_model_name(spec.name), check_version_id(spec.version)
        )
        response = yield from self._lifecycle.request(request, deadline, idempotent=True)
        openapi = decode_model(response, ModelVersion, {}).openapi_schema
        self._cache.put(spec.name, spec.version, openapi, len(response.content))
        return openapi
