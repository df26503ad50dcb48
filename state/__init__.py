"""Reflex state: thin classes that validate UI input, call one service, and hold what pages show."""
