"""Server text in messages: a URL or an explanation can be any length; a message must not."""

__all__ = ["shorten"]


def shorten(text: object, limit: int = 200) -> str:
    """`text` as a string of at most `limit` characters, cut with ``...`` when longer."""
    shown = str(text)
    return shown if len(shown) <= limit else f"{shown[: limit - 3]}..."
