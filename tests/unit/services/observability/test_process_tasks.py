"""A process-wide task started while serving a request does not carry that request's id into its logs."""

from __future__ import annotations

import asyncio

from services.observability.context import bind_request, request_id_var, start_process_task


async def _request_id_seen() -> str:
    return request_id_var.get()


async def test_a_process_task_runs_without_the_starting_requests_context() -> None:
    async def serve_request() -> tuple[str, str]:
        bind_request("req-started-the-flusher", "203.0.113.9")
        inherited = asyncio.get_running_loop().create_task(_request_id_seen())
        detached = start_process_task(_request_id_seen(), name="flusher")
        assert detached.get_name() == "flusher"
        return await inherited, await detached

    inherited, detached = await asyncio.create_task(serve_request())
    assert inherited == "req-started-the-flusher"  # what a plain task would have logged under
    assert detached == ""
