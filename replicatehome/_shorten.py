"""Server text in messages: a URL or an explanation can be any length; a message must not."""

from typing import Final

__all__ = ["MAX_EXPLANATION", "MAX_QUOTED", "shorten"]

MAX_EXPLANATION: Final = 500
"""The most characters of a server's own explanation (an error's detail, a failed prediction's
error) that go into a message."""
MAX_QUOTED: Final = 120
"""The most characters of a refused value (an id, a name, a URL) that its error message quotes."""


def shorten(text: object, limit: int = 200) -> str:
    """`text` as a string of at most `limit` characters, cut with ``...`` when longer."""
    shown = str(text)
    return shown if len(shown) <= limit else f"{shown[: limit - 3]}..."
