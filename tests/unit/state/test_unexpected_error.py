"""The app's backend exception handler: a sentence by kind of failure, logged under the reference it shows;
and what a browser reports of a page that failed there, logged within bounds."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from state.unexpected_error import UnexpectedErrorState, log_browser_failure, page_event_failed


def _arguments(spec: object) -> dict[str, object]:
    return {str(name._js_expr): value._var_value for name, value in spec.args}  # type: ignore[attr-defined]


@pytest.mark.parametrize("exception", [OperationalError("BEGIN IMMEDIATE", None, Exception("database is locked")),
                                       PoolTimeout("QueuePool limit of size 5 overflow 10 reached")])
def test_a_database_failure_says_the_database_is_busy_or_down(exception: Exception) -> None:
    spec = page_event_failed(exception)
    assert spec.handler.fn is UnexpectedErrorState.show.fn  # type: ignore[attr-defined]
    assert _arguments(spec)["message"] == (
        "The database is unavailable or busy, so that was not done; try again in a moment.")


def test_a_bug_is_logged_with_its_traceback_under_the_reference_the_banner_shows(
        caplog: pytest.LogCaptureFixture) -> None:
    try:
        {}["missing"]  # a real exception, with its traceback
    except KeyError as raised:
        exc = raised
    with caplog.at_level(logging.ERROR, logger="state.unexpected_error"):
        spec = page_event_failed(exc)
    shown = _arguments(spec)
    assert shown["message"] == "Something went wrong on our side, so that was not done; it has been logged."
    reference = str(shown["reference"])
    assert len(reference) == 8
    [record] = caplog.records
    assert record.getMessage() == f"a page event failed (reference {reference})"
    assert record.exc_info is not None and record.exc_info[0] is KeyError
    assert _arguments(page_event_failed(exc))["reference"] != reference  # each failure has a reference of its own


def test_a_browser_report_is_logged_cut_to_a_bounded_size(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="state.unexpected_error"):
        log_browser_failure("TypeError: x is null" + "e" * 10_000, "at Canvas" + "s" * 10_000)
    [record] = caplog.records
    error, stack = record.getMessage().removeprefix("a page failed in the browser: ").split("\n")
    assert error.startswith("TypeError: x is null") and len(error) == 4000
    assert stack.startswith("at Canvas") and len(stack) == 4000
