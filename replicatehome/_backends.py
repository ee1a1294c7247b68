"""The backends' names: one Literal, in a module light enough for the CLI's ``--help``."""

from __future__ import annotations

from typing import Final, Literal, get_args

__all__ = ["BACKEND_NAMES", "BackendName", "check_backend"]

BackendName = Literal["homepage", "official"]
"""The two protocols: the anonymous homepage API, and Replicate's official ``/v1`` API."""
BACKEND_NAMES: Final[tuple[BackendName, ...]] = get_args(BackendName)
"""`BackendName`'s values, in order: for choices, checks and parametrised tests."""


def check_backend(value: object, option: str) -> BackendName:
    """`value`, given as the option named `option`, as a backend's name.

    Raises:
        ValueError: `value` names no backend.
    """
    for name in BACKEND_NAMES:
        if value == name:
            return name
    raise ValueError(f"{option} must be {' or '.join(map(repr, BACKEND_NAMES))}, not {value!r}")
