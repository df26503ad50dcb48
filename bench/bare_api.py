"""The baseline for bench/load.py: a bare FastAPI JSON endpoint, served by uvicorn exactly like the API."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/bare")
async def bare() -> dict[str, object]:
    return {"data": [{"id": 1, "name": "bare"}], "count": 1}
