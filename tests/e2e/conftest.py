"""Start the real production build once per test session and drive it with Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.smtp_server import FakeSMTPServer
from tests.infra import IN_CI
from tests.processes import app_start_failure, free_port, start_prod_app, stop_process_group

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic"]
STARTUP_SECONDS = 240
ADMIN_EMAIL = "admin@e2e.example.com"
ADMIN_PASSWORD = "violet-harbour-compass-19"
# Secrets the app is configured with that enable nothing: tests assert they never reach a browser or a log.
UNUSED_SECRETS = {"SMTP_PASSWORD": "smtp-e2e-secret-Kq27", "TWILIO_AUTH_TOKEN": "twilio-e2e-secret-Mv55"}
SERVER_LOGS: dict[str, Path] = {}


def require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    if IN_CI:
        pytest.fail(f"{CHROMIUM} is missing and CI requires it (.ci/run installs the chromium package)")
    pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")


@pytest.fixture(scope="package")
def fake_openai() -> Iterator[FakeOpenAIServer]:
    """A loopback OpenAI the app is configured with, so browser tests can stream from the real SDK."""
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture(scope="package")
def fake_smtp() -> Iterator[FakeSMTPServer]:
    """A loopback SMTP relay the app's email channel sends to (tests program refusals on it)."""
    with FakeSMTPServer() as server:
        yield server


@pytest.fixture(scope="package")
def app_url(fake_openai: FakeOpenAIServer, fake_smtp: FakeSMTPServer) -> Iterator[str]:
    """`reflex run --env prod` on a free port with its own empty data folder, stopped at the end."""
    require_chromium()
    port = free_port()
    data_dir = Path(tempfile.mkdtemp(prefix="dwc-e2e-"))
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "JWT_SECRET")}
    env.update({"DWC_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1",
                "OPENAI_API_KEY": "sk-e2e-fake", "OPENAI_BASE_URL": fake_openai.base_url,
                "BUILDER_AUTOSAVE_SECONDS": "20", "SMTP_HOST": fake_smtp.host, "SMTP_PORT": str(fake_smtp.port),
                "SMTP_FROM": "Workflows <workflows@e2e.example.com>", "SMTP_STARTTLS": "false", **UNUSED_SECRETS})
    log_path = data_dir / "server.log"
    server = start_prod_app(port, env, log_path)
    url = f"http://localhost:{port}"
    SERVER_LOGS[url] = log_path
    try:
        failure = app_start_failure(url, server, STARTUP_SECONDS, log_path)
        if failure:
            pytest.fail(failure)
        # The first account becomes admin: create it now, so accounts made by tests are viewers.
        created = httpx.post(f"{url}/api/v3/auth/register", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD,
                                                                  "full_name": "Workspace Admin"}, timeout=30)
        assert created.status_code == 201 and created.json()["role"] == "admin", created.text
        yield url
    finally:
        stop_process_group(server)
        if log_path.exists():  # the server's side of any failure, kept beside the screenshots
            shutil.copyfile(log_path, artifacts_dir() / "e2e-server.log")
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    with chromium() as launched:
        yield launched


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright (never `playwright install`)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: object, app_url: str) -> Iterator[object]:
    """Every browser test also checks that the Content-Security-Policy blocked nothing the app needs."""
    with checked_page(browser, app_url) as tab:
        yield tab


@contextmanager
def checked_page(browser: object, base_url: str) -> Iterator[Page]:
    """A tab in a fresh browser context (its own cookies) on ``base_url``; on leaving, the test fails if
    the Content-Security-Policy blocked anything the app needs."""
    assert isinstance(browser, Browser)
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(20_000)
    tab = context.new_page()
    blocked: list[str] = []
    tab.on("console", lambda message: blocked.append(message.text)
           if "Content Security Policy" in message.text else None)
    try:
        yield tab
    finally:
        context.close()
    assert not blocked, f"the Content-Security-Policy blocked: {blocked}"


# Two shared cores run the app, PostgreSQL, Redis and the browser: give each expectation more than
# Playwright's default 5 s before calling it a failure.
expect.set_options(timeout=15_000)


def artifacts_dir() -> Path:
    """Where browser tests leave screenshots to look at after the run: ``$TEST_ARTIFACTS_DIR``, or
    ``test-artifacts/`` at the repository root (git-ignored)."""
    folder = Path(os.environ.get("TEST_ARTIFACTS_DIR") or Path(__file__).resolve().parents[2] / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def sign_in(page: Page, email: str, password: str) -> None:
    """Sign in through the login page and wait for the app shell."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
