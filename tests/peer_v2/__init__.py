"""Replicate's new SDK (replicate 2.x) against the emulator: run by ``nox -s peer_v2`` only."""
