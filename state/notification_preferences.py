"""The inbox page's Preferences tab: which categories reach you on which channel, and quiet hours.

The form is a grid: the "all categories" row is each channel's default, a category's row says
where it differs. Saving stores the fewest rules that mean exactly what the grid shows (the
service's most-specific-rule-wins order). A channel in digest mode is an ``*`` rule with ``digest``
set, and the channel's category rules carry it too (the most specific rule decides); digest
rules the grid does not show (one category only, made through the API) are kept.
"""

from __future__ import annotations

from zoneinfo import available_timezones

import reflex as rx
from pydantic import ValidationError

from models.notification import ANY
from services import errors
from services.db import open_read_session, open_session
from services.notifications import preferences, ui_queries
from services.notifications.lookup import channel_display_names, channel_infos
from services.notifications.preferences import PreferenceRule, Preferences, QuietHours
from state.auth import AuthState
from state.errors import form_message

DEFAULT_CATEGORY = "general"
TIMEZONES = ["UTC", *sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))]


def cell_key(category: str, channel: str) -> str:
    return f"{category}|{channel}"


def _effective(rules: list[PreferenceRule], category: str, channel: str) -> bool:
    matching = [r for r in rules if r.category in (ANY, category) and r.channel in (ANY, channel)]
    if not matching:
        return True
    return max(matching, key=lambda r: (r.category != ANY) * 2 + (r.channel != ANY)).enabled


# Fixed by the channel registry, so the page carries it rather than every user's state.
CHANNEL_NAMES = channel_display_names()


class PreferencesState(AuthState):
    pref_channels: list[str] = []
    pref_categories: list[str] = []
    cells: dict[str, bool] = {}
    digest_channels: dict[str, bool] = {}
    new_category: str = ""
    quiet_enabled: bool = False
    quiet_start: str = "22:00"
    quiet_end: str = "07:00"
    quiet_timezone: str = "UTC"
    pref_error: str = ""
    pref_notice: str = ""
    _digest: list[tuple[str, str, bool]] = []

    def _show_preferences(self, prefs: Preferences, categories: list[str]) -> None:
        self.pref_categories = [ANY, *sorted({DEFAULT_CATEGORY, *categories,
                                              *(r.category for r in prefs.rules if r.category != ANY)})]
        self.cells = {cell_key(c, ch): _effective(prefs.rules, c, ch)
                      for c in self.pref_categories for ch in self.pref_channels}
        self.digest_channels = {ch: any(r.digest and r.category == ANY and r.channel == ch for r in prefs.rules)
                                for ch in self.pref_channels}
        # Kept as they are: digest rules the switches do not stand for (a category's own, on a channel not
        # in digest mode as a whole); a digest channel's category rules follow its switch.
        self._digest = [(r.category, r.channel, r.enabled) for r in prefs.rules
                        if r.digest and not self.digest_channels.get(r.channel, False)]
        quiet = prefs.quiet_hours
        self.quiet_enabled = quiet is not None
        if quiet is not None:
            self.quiet_start, self.quiet_end, self.quiet_timezone = quiet.start, quiet.end, quiet.timezone

    def _rules(self) -> list[PreferenceRule]:
        rules: dict[tuple[str, str], PreferenceRule] = {}
        for channel in self.pref_channels:
            default = self.cells.get(cell_key(ANY, channel), True)
            if not default:
                rules[(ANY, channel)] = PreferenceRule(category=ANY, channel=channel, enabled=False)
            for category in self.pref_categories[1:]:
                value = self.cells.get(cell_key(category, channel), default)
                if value != default:
                    rules[(category, channel)] = PreferenceRule(category=category, channel=channel, enabled=value)
        for category, channel, enabled in self._digest:
            rule = rules.get((category, channel))
            if rule is None:
                on = self.cells.get(cell_key(category, channel), enabled) if channel != ANY else enabled
                rule = rules[(category, channel)] = PreferenceRule(category=category, channel=channel, enabled=on)
            rule.digest = True
        for channel in (ch for ch in self.pref_channels if self.digest_channels.get(ch)):
            if (ANY, channel) not in rules:
                rules[(ANY, channel)] = PreferenceRule(category=ANY, channel=channel,
                                                      enabled=self.cells.get(cell_key(ANY, channel), True))
            for (_category, rule_channel), rule in rules.items():
                if rule_channel == channel:
                    rule.digest = True
        return list(rules.values())

    @rx.event
    async def load(self) -> None:
        self.pref_error = self.pref_notice = ""
        self.pref_channels = [info.name for info in channel_infos()]
        try:
            async with open_read_session() as session:
                user = await self._signed_in_user(session)
                prefs = await preferences.get(user, session=session)
                categories = await ui_queries.inbox_categories(user, session=session)
        except errors.DomainError as exc:
            self.pref_error = form_message(exc)
            return
        self._show_preferences(prefs, categories)

    @rx.event
    def toggle_cell(self, category: str, channel: str, on: bool) -> None:
        """Tick or untick a box; a channel's default carries the categories that followed it along."""
        cells = dict(self.cells)
        if category == ANY:
            for other in self.pref_categories[1:]:
                if cells.get(cell_key(other, channel), True) == cells.get(cell_key(ANY, channel), True):
                    cells[cell_key(other, channel)] = on
        cells[cell_key(category, channel)] = on
        self.cells, self.pref_notice = cells, ""

    @rx.event
    def toggle_digest(self, channel: str, on: bool) -> None:
        """Batch (or stop batching) the channel's low-priority notifications into the periodic digest."""
        self.digest_channels, self.pref_notice = {**self.digest_channels, channel: on}, ""

    @rx.event
    def set_new_category(self, value: str) -> None:
        self.new_category = value

    @rx.event
    def add_category(self) -> None:
        category = self.new_category.strip().lower()
        if not category or category == ANY or len(category) > 50:
            self.pref_error = "Category: write a name of 1 to 50 characters, like billing."
            return
        if category not in self.pref_categories:
            self.pref_categories = [*self.pref_categories, category]
            self.cells = {**self.cells, **{cell_key(category, ch): self.cells.get(cell_key(ANY, ch), True)
                                           for ch in self.pref_channels}}
        self.new_category, self.pref_error = "", ""

    @rx.event
    def set_quiet_enabled(self, on: bool) -> None:
        self.quiet_enabled = on

    @rx.event
    def set_quiet_start(self, value: str) -> None:
        self.quiet_start = value

    @rx.event
    def set_quiet_end(self, value: str) -> None:
        self.quiet_end = value

    @rx.event
    def set_quiet_timezone(self, value: str) -> None:
        self.quiet_timezone = value

    @rx.event
    async def save(self) -> None:
        self.pref_error = self.pref_notice = ""
        try:
            quiet = (QuietHours(start=self.quiet_start, end=self.quiet_end, timezone=self.quiet_timezone)
                     if self.quiet_enabled else None)
            data = Preferences(rules=self._rules(), quiet_hours=quiet)
            async with open_session() as session:
                user = await self._signed_in_user(session)
                saved = await preferences.put(user, data, session=session)
        except ValidationError:
            self.pref_error = "Quiet hours: give the start and end as HH:MM, like 22:00 and 07:00."
            return
        except errors.DomainError as exc:
            self.pref_error = form_message(exc)
            return
        self._show_preferences(saved, [c for c in self.pref_categories if c != ANY])
        self.pref_notice = "Preferences saved."
