"""The shared Redis connection, when ``REDIS_URL`` is configured (otherwise ``None``)."""

from __future__ import annotations

from redis.asyncio import Redis

from services.settings import get_settings

_clients: dict[str, Redis] = {}


def get_redis() -> Redis | None:
    """A client for ``REDIS_URL`` with short timeouts, or ``None`` when Redis is not configured."""
    url = get_settings().redis_url
    if not url:
        return None
    client = _clients.get(url)
    if client is None:
        client = Redis.from_url(
            url,
            socket_connect_timeout=1.0,
            socket_timeout=1.0,
            health_check_interval=15,
            decode_responses=True,
        )
        _clients[url] = client
    return client


async def close_redis() -> None:
    """Close every client (shutdown, tests)."""
    for client in _clients.values():
        await client.aclose()
    _clients.clear()
