"""Call an HTTP endpoint through the SSRF guard."""

from __future__ import annotations

import contextlib
import json
from typing import Any, Literal

from pydantic import Field

import services.net.outbound as outbound
from services import errors
from services.workflows.nodes.base import NodeConfig, NodeContext, NodeOutput, NodeType

_RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class HttpRequestConfig(NodeConfig):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    url: str = Field(min_length=1, max_length=2000, description="URL (template).")
    headers: dict[str, str] = Field(default_factory=dict, description="Header values are templates.")
    body: str = Field(default="", description="Request body (template); sent as JSON when it parses as JSON.")
    request_timeout_seconds: float | None = Field(default=None, gt=0, le=300)
    fail_on_error_status: bool = Field(default=True, description="Fail the node on a 4xx/5xx answer.")


class HttpRequestNode(NodeType[HttpRequestConfig]):
    type_name = "http_request"
    display_name = "HTTP request"
    description = "Calls a URL (private addresses refused unless allow-listed) and outputs the response body."
    category = "Integrations"
    icon = "globe"
    config_model = HttpRequestConfig
    template_fields = ("url", "body")

    async def run(self, config: HttpRequestConfig, ctx: NodeContext) -> NodeOutput:
        url = ctx.render(config.url).strip()
        headers = {name: ctx.render(value) for name, value in config.headers.items()}
        body = ctx.render(config.body) if config.body else None
        payload: Any = None
        if body is not None:
            try:
                payload = json.loads(body)
                body = None
            except ValueError:
                payload = None
        response = await outbound.fetch(config.method, url, headers=headers, json=payload, content=body,
                                        timeout=config.request_timeout_seconds)
        ctx.log.add(f"{config.method} {url} answered HTTP {response.status_code} in {response.elapsed_ms:.0f} ms",
                    "info" if response.status_code < 400 else "warning")
        if config.fail_on_error_status and response.status_code >= 400:
            raise errors.ExecutionFailed(f"{config.method} {url} answered HTTP {response.status_code}",
                                         retryable=response.status_code in _RETRYABLE_STATUSES)
        fields: dict[str, Any] = {"status_code": response.status_code, "headers": response.headers}
        with contextlib.suppress(errors.ValidationFailed):  # a text answer is content, not a failure
            fields["json"] = response.json()
        return NodeOutput(content=response.text, fields=fields,
                          metadata={"url": str(response.url), "elapsed_ms": response.elapsed_ms})
