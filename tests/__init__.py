"""The test suite. ``-p tests`` (pyproject.toml) loads it first, before pytest's plugins."""

import sys

# Each xdist worker, and each CLI subprocess, imports the suite and its dependencies. With their
# bytecode cached, a worker collects in about 1 s instead of 4.5 s, so the cache is written even
# where PYTHONDONTWRITEBYTECODE is set (a container default). It goes to ignored __pycache__/.
# Set before the plugins load, it also keeps pytest's assertion-rewritten copies of them
# (anyio, respx, xdist...: 62 modules parsed and compiled again by each process otherwise).
sys.dont_write_bytecode = False
