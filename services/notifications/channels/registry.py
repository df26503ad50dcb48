"""The explicit list of delivery channels, by name. A duplicate name stops the import."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterable

from services import errors
from services.notifications.channels.base import Channel, ChannelInfo
from services.notifications.channels.discord import DiscordChannel
from services.notifications.channels.email import EmailChannel
from services.notifications.channels.in_app import InAppChannel
from services.notifications.channels.push import PushChannel
from services.notifications.channels.slack import SlackChannel
from services.notifications.channels.sms import SmsChannel
from services.notifications.channels.teams import TeamsChannel
from services.notifications.channels.webhook import WebhookChannel

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def build_registry(channels: Iterable[type[Channel]]) -> dict[str, type[Channel]]:
    """Channels keyed by name; raises ValueError on a duplicate or malformed name."""
    registry: dict[str, type[Channel]] = {}
    for channel in channels:
        if not _NAME.match(channel.name):
            msg = f"Channel name {channel.name!r} must be lowercase letters, digits or '_'"
            raise ValueError(msg)
        if channel.name in registry:
            msg = (f"Channel name {channel.name!r} is used by both {registry[channel.name].__name__} "
                   f"and {channel.__name__}")
            raise ValueError(msg)
        registry[channel.name] = channel
    return registry


CHANNELS: dict[str, type[Channel]] = build_registry([
    InAppChannel,
    EmailChannel,
    SmsChannel,
    PushChannel,
    WebhookChannel,
    SlackChannel,
    TeamsChannel,
    DiscordChannel,
])


def available_channels() -> list[str]:
    """The registered channel names, in registration order."""
    return list(CHANNELS)


def get_channel(name: str) -> Channel:
    """A new instance of the channel called ``name``; raises ValidationFailed naming the channels when unknown."""
    channel = CHANNELS.get(name.strip().lower())
    if channel is None:
        available = ", ".join(CHANNELS)
        raise errors.ValidationFailed(
            f"Unknown channel '{name}'; available channels: {available}.",
            details=[{"field": "channel", "message": f"unknown channel; choose one of: {available}"}],
        )
    return channel()


_last_checked: list[tuple[float, list[ChannelInfo]]] = []


async def channel_health_infos(*, max_age_seconds: float = 0.0) -> list[ChannelInfo]:
    """Every channel's info with a live health check, the checks run concurrently (each bounded).

    ``max_age_seconds``: answers from a check that recent are reused (the Services page refreshes
    every 10 s per open tab; a relay need not see an SMTP session each time).
    """
    if max_age_seconds and _last_checked and time.monotonic() - _last_checked[0][0] < max_age_seconds:
        return _last_checked[0][1]
    channels = [channel() for channel in CHANNELS.values()]
    checks = await asyncio.gather(*(channel.check_health() for channel in channels))
    infos = [channel.info().model_copy(update={"health": health})
             for channel, health in zip(channels, checks, strict=True)]
    _last_checked[:] = [(time.monotonic(), infos)]
    return infos


def channel_infos() -> list[ChannelInfo]:
    """Every channel's name, display name, whether it is configured, and the settings it reads."""
    return [channel().info() for channel in CHANNELS.values()]
