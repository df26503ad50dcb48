"""JSON log lines: the request and run of the task that wrote them, and secrets masked."""

from __future__ import annotations

import asyncio
import io
import json
import logging

from pydantic import SecretStr

from services.observability.context import bind_request, bound_run
from services.observability.logging import build_handler, configured_secrets, redact
from services.settings import Settings


def _logger(stream: io.StringIO, settings: Settings) -> logging.Logger:
    log = logging.getLogger(f"dwc.test.{id(stream)}")
    log.propagate = False
    log.setLevel(logging.INFO)
    log.addHandler(build_handler(settings, stream))
    return log


async def test_lines_carry_the_request_and_run_of_their_own_task() -> None:
    stream = io.StringIO()
    log = _logger(stream, Settings(log_format="json"))

    async def handle(request_id: str, run_id: str) -> None:
        bind_request(request_id, "198.51.100.4")
        await asyncio.sleep(0)
        with bound_run(run_id):
            await asyncio.sleep(0)
            log.info("step finished")
        log.info("request done")

    await asyncio.gather(handle("req-a", "run-a"), handle("req-b", "run-b"))
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert {(line["request_id"], line.get("run_id"), line["message"]) for line in lines} == {
        ("req-a", "run-a", "step finished"), ("req-a", None, "request done"),
        ("req-b", "run-b", "step finished"), ("req-b", None, "request done")}
    assert all(line["level"] == "INFO" and line["time"].endswith("+00:00") for line in lines)


def test_every_secret_setting_is_masked_in_text_and_json() -> None:
    settings = Settings(log_format="text", smtp_password=SecretStr("hunter2-smtp"),
                        google_api_key=SecretStr("AIza-google-key"), ntfy_token=SecretStr("tk_ntfy_123"))
    secrets = configured_secrets(settings)
    assert {"hunter2-smtp", "AIza-google-key", "tk_ntfy_123", settings.signing_secret()} <= set(secrets)
    assert redact("key=AIza-google-key pw=hunter2-smtp", secrets) == "key=*** pw=***"
    stream = io.StringIO()
    _logger(stream, settings).warning("sending with %s and %r", "hunter2-smtp", {"token": "tk_ntfy_123"})
    assert "hunter2-smtp" not in stream.getvalue() and "tk_ntfy_123" not in stream.getvalue()
    assert "sending with *** and {'token': '***'}" in stream.getvalue()


def test_a_traceback_another_handler_rendered_first_is_still_masked() -> None:
    unaware, aware = io.StringIO(), io.StringIO()
    log = _logger(unaware, Settings())  # a handler built before the secret was configured
    log.addHandler(build_handler(Settings(smtp_password=SecretStr("hunter2-smtp")), aware))
    try:
        raise RuntimeError("relay refused hunter2-smtp")
    except RuntimeError:
        log.exception("send failed")
    line = json.loads(aware.getvalue())
    assert "***" in line["exception"] and "hunter2-smtp" not in aware.getvalue()
