"""docker-compose.yml, the Caddyfile and the Procfile parse, run the README's commands, and name real settings."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from services.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
REQUIRED_ENV = {"DATABASE_URL", "REDIS_URL", "JWT_SECRET"}


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def _setting_names() -> set[str]:
    names: set[str] = set()
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        names.update(str(choice) for choice in getattr(alias, "choices", []))
    return names


def test_compose_has_every_process_of_the_layout() -> None:
    services = _compose()["services"]
    assert {"app-1", "app-2", "worker", "postgres", "redis", "proxy"} <= set(services)
    for name in ("app-1", "app-2"):
        assert services[name]["command"] == ["make", "run"]
    assert services["worker"]["command"] == ["make", "worker"]
    assert services["worker"]["deploy"]["replicas"] >= 1


def test_every_app_and_worker_shares_the_database_redis_and_secret_and_names_real_settings() -> None:
    services = _compose()["services"]
    known = _setting_names()
    for name in ("app-1", "app-2", "worker"):
        env = services[name]["environment"]
        assert REQUIRED_ENV <= set(env), name
        assert set(env) <= known, f"{name}: unknown settings {set(env) - known}"
    assert services["app-1"]["environment"]["DATABASE_URL"] == services["worker"]["environment"]["DATABASE_URL"]
    assert services["app-1"]["environment"]["REDIS_URL"] == services["worker"]["environment"]["REDIS_URL"]


def test_the_makefile_targets_the_compose_and_procfile_run_exist() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run:", makefile, re.M) and re.search(r"^worker:", makefile, re.M)
    procfile = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines()
                    if line.strip() and not line.startswith("#"))
    assert procfile["web"].strip() == "make run" and procfile["worker"].strip() == "make worker"
    assert "alembic upgrade head" in procfile["release"]


def test_the_proxy_balances_every_app_replica_and_keeps_metrics_internal() -> None:
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    compose = _compose()
    upstreams = re.search(r"reverse_proxy ([^{]+)\{", caddyfile)
    assert upstreams is not None
    replicas = {f"{name}:3000" for name in compose["services"] if name.startswith("app-")}
    assert set(upstreams.group(1).split()) == replicas
    assert "/metrics" in caddyfile and "health_uri /health" in caddyfile
    mounted = compose["services"]["proxy"]["volumes"][0].split(":")[0]
    assert (ROOT / mounted).resolve() == (ROOT / "deploy" / "Caddyfile").resolve()
    subnet = compose["networks"]["internal"]["ipam"]["config"][0]["subnet"]
    assert compose["services"]["app-1"]["environment"]["TRUSTED_PROXIES"] == subnet
