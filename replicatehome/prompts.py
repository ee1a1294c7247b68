"""Chat messages to a single prompt, the way the seed provider did it (docs/protocol.md §5)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

from .catalog import Kind

__all__ = ["Message", "build_prompt"]


class Message(TypedDict):
    """One chat message: ``{"role": "user", "content": "..."}``."""

    role: str
    """Who speaks: ``"system"``, ``"user"`` or ``"assistant"``."""
    content: str
    """What they say."""


def build_prompt(
    kind: Kind | None, prompt: str | None = None, messages: Sequence[Message] | None = None
) -> str:
    """Return the prompt to send: `prompt` when given, else one built from `messages`.

    Text models see a transcript (``"User: a\\nAssistant: b\\n...\\nAssistant:"``) unless there
    is a single message, which is sent as it is. Image models see the last message only.

    Raises:
        ValueError: neither a prompt nor any message was given.
    """
    if prompt is not None:
        return prompt
    if not messages:
        raise ValueError("Pass a prompt, or messages=[{'role': 'user', 'content': ...}].")
    if kind == "image" or len(messages) == 1:
        return messages[-1]["content"]
    lines = [f"{message['role'].capitalize()}: {message['content']}" for message in messages]
    return "\n".join(lines) + "\nAssistant:"
