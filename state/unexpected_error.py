"""What every page shows when one of its events failed in a way no form on it could explain.

Each page event maps the errors it expects (``DomainError``) to a message of its own. Anything else
(a bug, the database unreachable or locked past its timeout) reaches Reflex's backend exception
handler, whose default answers with a toast sent as JavaScript to evaluate, which the
Content-Security-Policy refuses: the user saw nothing. ``page_event_failed`` is the app's handler
instead: it logs the error with a short reference and shows a banner through this state. A page that
fails in the browser itself shows ``components.page_error``'s page, which reports the error here to be logged.
"""

from __future__ import annotations

import logging
import uuid

import reflex as rx
from reflex.event import EventSpec

from state.errors import unexpected_message

log = logging.getLogger(__name__)
_REPORT_CHARS = 4000  # of each text a browser reports


class UnexpectedErrorState(rx.State):
    """The banner's text: empty while nothing went wrong."""

    message: str = ""
    reference: str = ""

    @rx.event
    def show(self, message: str, reference: str) -> None:
        self.message, self.reference = message, reference

    @rx.event
    def dismiss(self) -> None:
        self.message = self.reference = ""

    @rx.event
    def page_failed_in_browser(self, error: str, component_stack: str) -> None:
        """The error boundary's report of a page that failed in the browser (the error page says what to do)."""
        log_browser_failure(error, component_stack)


def log_browser_failure(error: str, component_stack: str) -> None:
    """Log what the browser reported, cut to a size: it is the user's to choose."""
    log.error("a page failed in the browser: %s\n%s", error[:_REPORT_CHARS], component_stack[:_REPORT_CHARS])


def page_event_failed(exception: Exception) -> EventSpec:
    """The app's ``backend_exception_handler``: log it under a reference the banner shows."""
    reference = uuid.uuid4().hex[:8]
    log.error("a page event failed (reference %s)", reference, exc_info=exception)
    return UnexpectedErrorState.show(unexpected_message(exception), reference)
