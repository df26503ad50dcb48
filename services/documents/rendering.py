"""Markdown to HTML that is safe to put in a page: markdown-it renders, nh3 (ammonia) sanitises.

Raw HTML inside Markdown is allowed through the renderer and then cleaned, so tables and
line breaks survive while ``<script>``, event handlers (``onerror=``), ``javascript:`` and
``data:`` links, ``<iframe>``, ``<style>`` and forms never do. Every page and export that shows
a document's content as HTML goes through :func:`render_markdown`.
"""

from __future__ import annotations

import html

import nh3
from markdown_it import MarkdownIt

_ALLOWED_TAGS = {"a", "abbr", "b", "blockquote", "br", "code", "del", "details", "div", "em", "h1", "h2", "h3",
                 "h4", "h5", "h6", "hr", "i", "img", "input", "kbd", "li", "mark", "ol", "p", "pre", "s", "span",
                 "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul"}
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title", "width", "height"},
                       "th": {"align", "colspan", "rowspan"}, "td": {"align", "colspan", "rowspan"},
                       "code": {"class"}, "input": {"type", "checked", "disabled"}, "ol": {"start"}}
_URL_SCHEMES = {"http", "https", "mailto"}
_markdown = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"])


def sanitize_html(raw: str) -> str:
    """``raw`` HTML with everything that could run code or load active content removed."""
    return nh3.clean(raw, tags=_ALLOWED_TAGS, attributes=_ALLOWED_ATTRIBUTES, url_schemes=_URL_SCHEMES,
                     link_rel="noopener noreferrer nofollow", strip_comments=True)


def render_markdown(markdown: str) -> str:
    """Sanitised HTML of ``markdown``."""
    return sanitize_html(_markdown.render(markdown))


def html_page(title: str, body_html: str) -> str:
    """A standalone HTML file around already sanitised ``body_html`` (the HTML export)."""
    return (f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>\n"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src https: data:; "
            "style-src 'unsafe-inline'\">\n<style>body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem "
            "auto;line-height:1.55;padding:0 1rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
            "padding:.25rem .5rem}pre{background:#f4f4f5;padding:.75rem;overflow:auto}</style></head>\n"
            f"<body>\n<h1>{html.escape(title)}</h1>\n{body_html}\n</body></html>\n")
