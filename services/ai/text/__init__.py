"""Offline, deterministic text analysis used by the builtin provider: pure functions, no network."""
