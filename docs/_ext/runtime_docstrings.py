"""A griffe extension for the API reference: class docstrings that Python builds at import time.

`Client` and `AsyncClient` append the options they share to their docstrings
(``__doc__ = (__doc__ or "") + _OPTIONS_DOC``), which griffe's static analysis does not evaluate.
For a class that assigns ``__doc__``, this imports the class and documents the docstring it ends
up with. The package must be importable: `nox -s docs` installs it, with the emulator extra.
"""

from __future__ import annotations

import inspect

import griffe


class RuntimeDocstrings(griffe.Extension):
    """Take a class's docstring from the imported class when its body assigns ``__doc__``."""

    def on_class_members(self, *, cls: griffe.Class, **kwargs: object) -> None:
        """Replace the literal docstring with the built one, and drop the ``__doc__`` member."""
        if "__doc__" not in cls.members or cls.docstring is None:
            return
        built = griffe.dynamic_import(cls.path).__doc__
        if built:
            cls.docstring.value = inspect.cleandoc(built)
        del cls.members["__doc__"]
