"""Loopback servers that speak real protocols, for tests that must cross a real socket."""
