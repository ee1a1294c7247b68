"""What a ``generate_*`` call runs and sends, settled at call time, before any request.

The model is resolved, the input built from the prompt, the keywords and ``input=``, checked
against the catalog model's schema, joined with the unchecked ``extra_input=``, and its files
read. So a wrong model, input or file fails the call at once, even a ``stream_text`` that is
not iterated yet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ._call_inputs import check_wait_timeout, model_input
from ._file_inputs import FileEncoding, read_files
from ._lifecycle import Flow, Lifecycle
from ._models import PredictionSnapshot
from .catalog import Kind
from .prompts import Message, build_prompt

__all__ = ["Generation"]


@dataclass(frozen=True, slots=True)
class Generation:
    """One call of ``generate_text``, ``stream_text`` or ``generate_image``, as it was made."""

    kind: Kind
    method: str
    """The method's name, for error messages."""
    model: str
    version: str | None
    prompt: str | None
    messages: Sequence[Message] | None
    input: Mapping[str, object] | None
    keywords: Mapping[str, object]
    extra_input: Mapping[str, object] | None
    wait_timeout: float | None
    file_encoding: FileEncoding | None
    stream: bool = False

    def plan(self, lifecycle: Lifecycle) -> Flow[PredictionSnapshot]:
        """The flow of this call; its model is resolved, its input checked, its files read now.

        Raises:
            TypeError: a keyword is a client option, or a name is given twice.
            ValueError: the model is of the other kind, or no prompt was given.
            InputValidationError: the input does not fit the catalog model's schema.
        """
        deadline = lifecycle.deadline(check_wait_timeout(self.wait_timeout))
        spec = lifecycle.protocol.model_spec(self.model, self.version)
        if spec.kind is not None and spec.kind != self.kind:
            raise ValueError(
                f"{spec.name} is a {spec.kind} model; use generate_{spec.kind}() "
                f"or pick a {self.kind} model."
            )
        checked = {
            "prompt": build_prompt(self.kind, self.prompt, self.messages),
            **model_input(self.method, self.input, self.keywords),
        }
        extra = self.extra_input or {}
        if twice := sorted(checked.keys() & extra.keys()):
            raise TypeError(
                f"{self.method}() got {', '.join(twice)} both in extra_input= and as a checked "
                "input (the prompt, input= or a keyword)"
            )
        if spec.kind is not None:
            # Imported here: its pydantic models take tens of milliseconds to build, which a
            # program that never generates need not pay when it imports the client.
            from .inputs import check_input

            check_input(spec.name, checked)
        read, _ = read_files({**checked, **extra}, upload=lifecycle.uploads(self.file_encoding))
        return lifecycle.generate(
            spec, read, deadline, stream=self.stream, file_encoding=self.file_encoding
        )
