"""Every modal dialog of the app is built by ``components.top_layer.dialog_content``, which does not take
a click on the top layer (the unexpected-error banner) for a dismissal; the browser test
``tests/e2e/test_unexpected_errors.py`` shows why one built by ``rx.dialog.content`` directly would."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
ALLOWED = ROOT / "components" / "top_layer.py"


def _direct_dialog_contents(path: Path) -> list[int]:
    """Lines of ``path`` that call ``rx.dialog.content``."""
    return [node.lineno for node in ast.walk(ast.parse(path.read_text(), str(path)))
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "rx.dialog.content"]


def test_no_page_or_component_builds_a_dialog_without_the_top_layer_guard() -> None:
    sources = [path for folder in ("components", "dashboard") for path in (ROOT / folder).rglob("*.py")]
    assert len(sources) > 20
    found = {str(path.relative_to(ROOT)): lines for path in sources if path != ALLOWED
             and (lines := _direct_dialog_contents(path))}
    assert found == {}, f"use components.top_layer.dialog_content instead of rx.dialog.content: {found}"


def test_the_rule_sees_a_direct_call() -> None:
    assert _direct_dialog_contents(ALLOWED) != []
