"""Documents a run wrote: Markdown rendered without raw HTML, so an output can never inject markup."""

from __future__ import annotations

import reflex as rx


def safe_markdown(content: rx.Var[str] | str, **props: object) -> rx.Component:
    """Render ``content`` as Markdown; HTML inside it stays text (no rehype-raw), links keep react-markdown's
    URL filter (no ``javascript:``)."""
    return rx.markdown(content, use_raw=False, **props)
