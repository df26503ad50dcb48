"""Responses whose JSON body a service or model already wrote: sent as they are, not serialized again."""

from __future__ import annotations

from fastapi import Response


class JSONBytes(Response):
    """A JSON body given as bytes; the route's ``response_model`` still documents its shape."""

    media_type = "application/json"
