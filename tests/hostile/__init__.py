"""Tests against a server that lies, stalls and floods: every promise must hold."""
