"""The channel registry: the explicit list, refused duplicates, unknown names, the channel list for the API."""

from __future__ import annotations

import pytest

from services import errors
from services.notifications.channels.email import EmailChannel
from services.notifications.channels.registry import available_channels, build_registry, channel_infos, get_channel
from services.notifications.channels.sms import SmsChannel
from tests.unit.services.notifications.channels.conftest import SetEnv

OURS = ["in_app", "email", "sms", "push", "webhook", "slack", "teams", "discord"]


def test_the_registry_lists_the_delivery_channels_in_order() -> None:
    assert available_channels() == OURS


def test_a_duplicate_channel_name_is_refused() -> None:
    class SecondEmail(SmsChannel):
        name = "email"

    with pytest.raises(ValueError, match="'email' is used by both EmailChannel and SecondEmail"):
        build_registry([EmailChannel, SecondEmail])


def test_a_malformed_channel_name_is_refused() -> None:
    class Shouting(SmsChannel):
        name = "SMS!"

    with pytest.raises(ValueError, match="must be lowercase"):
        build_registry([Shouting])


def test_an_unknown_channel_names_the_available_ones() -> None:
    with pytest.raises(errors.ValidationFailed, match="Unknown channel 'fax'; available channels: in_app, email, sms"):
        get_channel("fax")
    assert isinstance(get_channel(" Email "), EmailChannel)


def test_channel_infos_say_what_is_configured_and_name_settings_without_values(channel_env: SetEnv) -> None:
    channel_env(SMTP_HOST="smtp.example.com", SMTP_FROM="a@example.com", SMTP_PASSWORD="hunter2-secret")

    infos = {info.name: info for info in channel_infos()}

    configured = {name: infos[name].configured for name in OURS}
    assert configured == {"in_app": True, "email": True, "sms": False, "push": False, "webhook": False, "slack": True,
                          "teams": True, "discord": True}
    assert "SMTP_PASSWORD" in infos["email"].settings
    assert "hunter2-secret" not in str([info.model_dump() for info in infos.values()])
