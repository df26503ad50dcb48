"""The builder's node palette: node types grouped by category, filtered by a search, with their colours."""

from __future__ import annotations

from dataclasses import dataclass

import reflex as rx

from state.node_forms import CATALOGUE

CATEGORY_COLOURS = {"Input / output": "#0891b2", "AI": "#7c3aed", "Transform": "#0d9488", "Logic": "#d97706",
                    "Integrations": "#2563eb"}


@dataclass
class PaletteItem:
    type: str
    title: str
    description: str
    category: str
    icon: str


@dataclass
class PaletteGroup:
    category: str
    node_types: list[PaletteItem]


def palette_groups(query: str) -> list[PaletteGroup]:
    """The node types whose name, description, category or type contains ``query``, grouped by category."""
    wanted = query.strip().lower()
    groups: dict[str, list[PaletteItem]] = {}
    for e in sorted(CATALOGUE.values(), key=lambda e: (e["category"], e["display_name"])):
        if not wanted or wanted in f"{e['display_name']} {e['description']} {e['category']} {e['type']}".lower():
            groups.setdefault(e["category"], []).append(
                PaletteItem(e["type"], e["display_name"], e["description"], e["category"], e["icon"]))
    return [PaletteGroup(category, items) for category, items in groups.items()]


class PaletteState(rx.State):
    """The palette's search, kept apart from the builder's state so that an edit or a selection in the
    builder does not re-render the palette (and a search does not re-render the builder)."""

    query: str = ""

    @rx.var
    def groups(self) -> list[PaletteGroup]:
        return palette_groups(self.query)

    @rx.event
    def set_query(self, query: str) -> None:
        self.query = query[:100]
