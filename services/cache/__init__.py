"""One async cache for the whole product: namespaced keys, TTLs, tags, single-flight loads, stats.

``get_cache()`` (in ``service.py``) returns the process's :class:`~services.cache.cache.Cache`
in front of the backend chosen by ``CACHE_BACKEND``: ``memory``, ``redis``, ``file`` or
``tiered`` (memory in front of Redis, invalidations broadcast over Redis pub/sub).
"""
