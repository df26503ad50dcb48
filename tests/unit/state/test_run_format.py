"""How steps read on screen: a failed badge carries its error, a step's log becomes timed lines."""

from __future__ import annotations

from models.run import StepLogLine
from state.run_format import BADGE_ERROR_CHARS, badge, duration_text, log_text, started_nodes


def test_a_failed_badge_shows_its_error_cut_short_and_whole_in_the_tooltip() -> None:
    error = "GET https://example.com/items/42 answered HTTP 503 after three attempts"
    failed = badge("failed", 120.0, error)
    assert failed["title"] == error
    assert len(failed["text"]) == BADGE_ERROR_CHARS and failed["text"].endswith("…")
    assert badge("failed", None, "timed out")["text"] == "timed out"
    assert badge("succeeded", 1500.0, None) == {"status": "succeeded", "text": "1.5 s"}
    assert badge("retrying", None, "HTTP 503")["title"] == "retrying after: HTTP 503"


def test_a_step_log_reads_as_timed_lines_with_warnings_and_errors_marked() -> None:
    lines = [StepLogLine(at_ms=0.0, level="info", message="attempt 1 started"),
             StepLogLine(at_ms=12.4, level="error", message="attempt 1 failed: HTTP 503"),
             StepLogLine(at_ms=13.0, level="warning", message="retrying in 2.00 s")]
    assert log_text(lines).splitlines() == ["+0.00 s  attempt 1 started", "+0.01 s  ERROR attempt 1 failed: HTTP 503",
                                            "+0.01 s  WARN  retrying in 2.00 s"]
    assert log_text([]) == ""


def test_nodes_whose_inputs_all_finished_are_taken_as_running() -> None:
    graph = {"nodes": [{"id": n} for n in ("a", "b", "c", "d")],
             "edges": [{"source": "a", "target": "b"}, {"source": "b", "target": "c"}, {"source": "a", "target": "d"}]}
    assert started_nodes(graph, {}) == ["a"]
    assert started_nodes(graph, {"a": "succeeded"}) == ["b", "d"]
    assert started_nodes(graph, {"a": "succeeded", "b": "failed", "d": "skipped"}) == []


def test_durations_read_in_the_unit_that_suits_them() -> None:
    assert [duration_text(ms) for ms in (None, 0.2, 2.4, 340.0, 999.4, 999.6, 1500.0, 59_940.0, 59_960.0,
                                         125_000.0, 3_600_000.0)] == [
        "", "<1 ms", "2 ms", "340 ms", "999 ms", "1.0 s", "1.5 s", "59.9 s", "1 min 00 s", "2 min 05 s",
        "60 min 00 s"]
    assert badge("succeeded", 2.4)["text"] == "2 ms"  # a quick step's badge no longer reads "0.0 s"
