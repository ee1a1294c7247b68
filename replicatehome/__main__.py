"""``python -m replicatehome``: the same as the ``replicatehome`` command."""

from .cli import main

raise SystemExit(main())
