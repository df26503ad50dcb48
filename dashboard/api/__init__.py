"""The REST API (``/api/v3``), mounted on the Reflex backend."""
