"""A loopback SMTP server (aiosmtpd) that keeps every message it accepts, for the email channel to really send to.

``refuse_next(code, text, at=)`` answers the next RCPT or DATA command with an SMTP error reply (a message
refused at DATA is kept in ``refused``, so a test can compare it with the retry that was accepted);
``delay_next(seconds)`` makes the next DATA wait before answering.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, Literal

from aiosmtpd.controller import Controller

from tests.processes import free_port

Stage = Literal["rcpt", "data"]


@dataclass(frozen=True)
class ReceivedMail:
    """One accepted message: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class _Handler:
    def __init__(self, server: FakeSMTPServer) -> None:
        self._server = server

    async def handle_RCPT(self, _server: Any, _session: Any, envelope: Any, address: str,
                          _rcpt_options: list[str]) -> str:
        refusal = self._server._take_refusal("rcpt")
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        delay = self._server._take_delay()
        if delay:
            await asyncio.sleep(delay)
        parsed = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        mail = ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), parsed)
        refusal = self._server._take_refusal("data")
        if refusal is not None:
            self._server.refused.append(mail)
            return refusal
        self._server.received.append(mail)
        return "250 Message accepted for delivery"


class FakeSMTPServer:
    """Start with ``with FakeSMTPServer() as server:``; send to ``server.host``:``server.port`` without TLS."""

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.received: list[ReceivedMail] = []
        self.refused: list[ReceivedMail] = []
        self._refusals: deque[tuple[Stage, str]] = deque()
        self._delays: deque[float] = deque()
        self._lock = threading.Lock()
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port)

    def refuse_next(self, code: int, text: str, *, at: Stage = "data") -> None:
        """Answer the next ``at`` command (RCPT or DATA) with ``code text``."""
        with self._lock:
            self._refusals.append((at, f"{code} {text}"))

    def delay_next(self, seconds: float) -> None:
        """Wait ``seconds`` before answering the next DATA command."""
        with self._lock:
            self._delays.append(seconds)

    def reset(self) -> None:
        with self._lock:
            self.received.clear()
            self.refused.clear()
            self._refusals.clear()
            self._delays.clear()

    def __enter__(self) -> FakeSMTPServer:
        self._controller.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._controller.stop()

    def _take_refusal(self, stage: Stage) -> str | None:
        with self._lock:
            if self._refusals and self._refusals[0][0] == stage:
                return self._refusals.popleft()[1]
        return None

    def _take_delay(self) -> float:
        with self._lock:
            return self._delays.popleft() if self._delays else 0.0
