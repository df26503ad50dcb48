"""A loopback TCP relay that counts request/response round trips between its clients and a server.

It forwards bytes unchanged both ways (so the client speaks the server's real protocol) and counts,
per connection, each time the client sends after the server last spoke (or first): one round trip.
A pipelined batch is one send followed by replies; N sequential commands are N sends, each after a
reply. Runs in the test's event loop: ``async with RoundTripRelay(port) as relay:``.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Self


class RoundTripRelay:
    """Relays ``127.0.0.1:<port>`` (``self.port``) to ``127.0.0.1:<target_port>``; ``round_trips`` counts."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.round_trips = 0
        self._server: asyncio.Server | None = None
        self._pumps: set[asyncio.Task[None]] = set()

    def reset(self) -> None:
        self.round_trips = 0

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, _type: type[BaseException] | None, _exc: BaseException | None,
                        _traceback: TracebackType | None) -> None:
        assert self._server is not None
        self._server.close()
        for pump in list(self._pumps):
            pump.cancel()
        for pump in list(self._pumps):
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await pump
        await self._server.wait_closed()

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        awaiting_reply = [False]

        async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, from_client: bool) -> None:
            try:
                while chunk := await reader.read(65536):
                    if from_client and not awaiting_reply[0]:
                        self.round_trips += 1
                    awaiting_reply[0] = from_client
                    writer.write(chunk)
                    await writer.drain()
            finally:
                writer.close()

        for task in (asyncio.create_task(pump(client_reader, server_writer, True)),
                     asyncio.create_task(pump(server_reader, client_writer, False))):
            self._pumps.add(task)
            task.add_done_callback(self._pumps.discard)
