"""Two versions of a document side by side: paired lines marked equal, changed, added or removed."""

from __future__ import annotations

import difflib
from typing import Any

MAX_ROWS = 5000


def side_by_side(left: str, right: str) -> tuple[list[dict[str, Any]], int, int]:
    """Rows of ``{"kind", "left", "right", "left_no", "right_no"}`` and the counts of added and removed lines."""
    a, b = left.splitlines(), right.splitlines()
    rows: list[dict[str, Any]] = []
    added = removed = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            rows += [_row("equal", a[i], b[j], i, j) for i, j in zip(range(i1, i2), range(j1, j2), strict=True)]
            continue
        removed += i2 - i1
        added += j2 - j1
        for offset in range(max(i2 - i1, j2 - j1)):
            i, j = i1 + offset, j1 + offset
            old = a[i] if i < i2 else None
            new = b[j] if j < j2 else None
            kind = "changed" if old is not None and new is not None else ("removed" if new is None else "added")
            rows.append(_row(kind, old, new, i if old is not None else None, j if new is not None else None))
    return rows[:MAX_ROWS], added, removed


def unified(left: str, right: str, from_label: str, to_label: str) -> str:
    return "".join(difflib.unified_diff(left.splitlines(keepends=True), right.splitlines(keepends=True),
                                        fromfile=from_label, tofile=to_label))


def _row(kind: str, left: str | None, right: str | None, left_index: int | None,
         right_index: int | None) -> dict[str, Any]:
    return {"kind": kind, "left": left, "right": right,
            "left_no": None if left_index is None else left_index + 1,
            "right_no": None if right_index is None else right_index + 1}
