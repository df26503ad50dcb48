"""What must stay usable while a dialog is open: a layer above dialogs, and dialogs that let it be clicked.

``top_layer(...)`` renders its children in a portal at the end of ``<body>`` (``assets/layers/top_layer.jsx``),
above a modal dialog's overlay. A modal dialog still takes a click outside its content for a dismissal,
so ``dialog_content`` is ``rx.dialog.content`` that ignores interactions with the top layer: dismissing
the unexpected-error banner leaves the dialog open with what was typed in it.
"""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.vars import FunctionStringVar


class TopLayer(rx.Component):
    """Children portalled to the end of the body, in the app's theme, above every dialog."""

    library = "$/public/layers/top_layer.jsx"
    tag = "TopLayer"


top_layer = TopLayer.create

# Radix calls it with its own event, dispatched on the element that was pressed or focused.
_IGNORE_THE_TOP_LAYER: FunctionStringVar = FunctionStringVar.create(
    "((event) => { if (event.target instanceof Element && event.target.closest('[data-top-layer]')) "
    "event.preventDefault(); })")


def dialog_content(*children: rx.Component, **props: Any) -> rx.Component:
    """``rx.dialog.content`` that stays open when something in the top layer is clicked."""
    return rx.dialog.content(*children, on_interact_outside=_IGNORE_THE_TOP_LAYER, **props)
