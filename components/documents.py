"""Documents a run wrote: Markdown rendered without raw HTML, so an output can never inject markup."""

from __future__ import annotations

import reflex as rx


def safe_markdown(content: rx.Var[str] | str, **props: object) -> rx.Component:
    """Render ``content`` as Markdown; HTML inside it stays text (no rehype-raw), links keep react-markdown's
    URL filter (no ``javascript:``)."""
    return rx.markdown(content, use_raw=False, **props)


# Typography for a document's sanitised HTML (``rx.html``): the app's CSS reset leaves headings, lists,
# tables and quotes looking like body text.
PROSE_STYLE: dict[str, object] = {
    "line_height": "1.6",
    "overflow_wrap": "anywhere",
    "& h1, & h2, & h3, & h4, & h5, & h6": {"font_weight": "600", "line_height": "1.25", "margin": "1em 0 0.4em"},
    "& h1": {"font_size": "1.6em"}, "& h2": {"font_size": "1.35em"}, "& h3": {"font_size": "1.15em"},
    "& > :first-child": {"margin_top": "0"},
    "& p, & ul, & ol, & pre, & blockquote, & table": {"margin": "0 0 0.75em"},
    "& ul": {"list_style": "disc", "padding_left": "1.5em"},
    "& ol": {"list_style": "decimal", "padding_left": "1.5em"},
    "& a": {"color": "var(--accent-11)", "text_decoration": "underline"},
    "& code": {"font_family": "var(--code-font-family)", "font_size": "0.9em", "background": "var(--gray-a3)",
               "padding": "0.1em 0.3em", "border_radius": "4px"},
    "& pre": {"background": "var(--gray-a3)", "padding": "0.75em", "border_radius": "6px", "overflow_x": "auto"},
    "& pre code": {"background": "none", "padding": "0"},
    "& blockquote": {"border_left": "3px solid var(--gray-a6)", "padding_left": "0.75em",
                     "color": "var(--gray-11)"},
    "& table": {"border_collapse": "collapse", "display": "block", "overflow_x": "auto"},
    "& th, & td": {"border": "1px solid var(--gray-a6)", "padding": "0.3em 0.6em", "text_align": "left"},
    "& th": {"background": "var(--gray-a2)", "font_weight": "600"},
    "& hr": {"border": "none", "border_top": "1px solid var(--gray-a6)", "margin": "1em 0"},
    "& img": {"max_width": "100%"},
}
