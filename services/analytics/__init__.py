"""Analytics: event recording (``recorder``, ``hooks``), SQL aggregations (``queries``), insights."""
