"""What a page shows when it fails in the browser: our own error page, and a reload that the CSP allows.

Reflex's default error boundary shows its own page (the raw stack, a "Built with Reflex" link) and,
for the null-property errors a stale page throws after a new deploy, reloads by sending JavaScript to
evaluate, which the Content-Security-Policy refuses (no ``'unsafe-eval'``): the page stayed broken.
Here the reload is code in the bundle, and the boundary reports the error to
``UnexpectedErrorState``, which logs it.

The boundary wraps the app outside Radix Themes' root, so the page is plain HTML styled inline, in
the browser's light or dark colours.
"""

from __future__ import annotations

from datetime import timedelta

import reflex as rx
from reflex.components.base.error_boundary import ErrorBoundary
from reflex.environment import auto_reload_cooldown
from reflex.state import LAST_RELOADED_KEY, FrontendEventExceptionState
from reflex.vars import FunctionStringVar, Var

from state.unexpected_error import UnexpectedErrorState

# Reflex's own rule, run in the bundle: its list of a stale page's errors (Chrome, Safari, Firefox; the
# patterns read the same in JavaScript), its cooldown (REFLEX_AUTO_RELOAD_COOLDOWN) and its storage key.
_STALE_PAGE_ERRORS = "|".join(f"(?:{error.pattern})" for error in FrontendEventExceptionState.auto_reload_on_errors)
_COOLDOWN_MS = auto_reload_cooldown() // timedelta(milliseconds=1)
# Reflex calls it with the on_error spec's values first: the error's text ("name: message\nstack").
_RELOAD_ONCE_IF_STALE: FunctionStringVar = FunctionStringVar.create(
    f"((text) => {{ if (!/{_STALE_PAGE_ERRORS}/.test(String(text))) return;"
    f" const last = parseInt(window.sessionStorage.getItem('{LAST_RELOADED_KEY}')) || 0;"
    f" if (Date.now() - last > {_COOLDOWN_MS}) {{"
    f" window.sessionStorage.setItem('{LAST_RELOADED_KEY}', String(Date.now())); window.location.reload(); }} }})")
_RELOAD: FunctionStringVar = FunctionStringVar.create("(() => window.location.reload())")
_ERROR_TEXT = Var(_js_expr="(event_args.error.name + ': ' + event_args.error.message)", _var_type=str)

_BUTTON = {"padding": "0.5rem 1rem", "border_radius": "6px", "border": "1px solid transparent",
           "font": "inherit", "cursor": "pointer"}


def _error_page() -> rx.Component:
    return rx.el.main(
        rx.el.div(
            rx.el.h1("This page stopped working", style={"font_size": "1.5rem", "margin": "0"}),
            rx.el.p("Something failed in your browser while it showed this page. Reload it to go on: what you "
                    "saved is kept.",
                    style={"line_height": "1.5", "margin": "0"}),
            rx.el.div(
                rx.el.button("Reload page", type="button", on_click=_RELOAD, autofocus=True,
                             style={**_BUTTON, "background": "#3e63dd", "color": "#fff"}),
                rx.el.a("Go to the overview", href="/",
                        style={**_BUTTON, "color": "inherit", "border_color": "currentColor",
                               "text_decoration": "none"}),
                style={"display": "flex", "gap": "0.75rem", "align_items": "center"}),
            rx.el.details(rx.el.summary("Error details"),
                          rx.el.pre(_ERROR_TEXT, style={"white_space": "pre-wrap", "word_break": "break-word"})),
            style={"display": "flex", "flex_direction": "column", "gap": "1rem", "max_width": "min(60ch, 90vw)"}),
        role="alert", id="page-error",
        style={"position": "fixed", "inset": "0", "display": "flex", "align_items": "center",
               "justify_content": "center", "color_scheme": "light dark", "background": "Canvas",
               "color": "CanvasText", "font_family": "system-ui, sans-serif"},
    )


def page_error_boundary(stateful: bool) -> rx.Component:
    """The app's error boundary (it replaces Reflex's ``(55, "ErrorBoundary")`` app wrap)."""
    report = [UnexpectedErrorState.page_failed_in_browser] if stateful else []
    return ErrorBoundary.create(on_error=[*report, _RELOAD_ONCE_IF_STALE],
                                fallback_render=_error_page())
