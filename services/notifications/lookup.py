"""Finding a channel by name: the registry by default, any ``ChannelLookup`` where a caller injects one."""

from __future__ import annotations

from collections.abc import Callable

from services.notifications.channels import registry
from services.notifications.channels.base import Channel, ChannelInfo

ChannelLookup = Callable[[str], Channel]


def registry_channel(name: str) -> Channel:
    """The registered channel ``name``; ``ValidationFailed`` naming the field when there is none."""
    return registry.get_channel(name)


def channel_display_names() -> dict[str, str]:
    """Each channel's name → the name people know it by ("sms" → "SMS (Twilio)"), in registration order."""
    return {name: channel.display_name for name, channel in registry.CHANNELS.items()}


def channel_infos() -> list[ChannelInfo]:
    """Every channel with whether this deployment has configured it."""
    return registry.channel_infos()


async def channel_health_infos() -> list[ChannelInfo]:
    """Every channel with a live health check (SMTP session, provider reachable), run concurrently."""
    return await registry.channel_health_infos()
