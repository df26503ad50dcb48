"""AI Studio in real Chromium: generate offline with the builtin provider, stream from a loopback OpenAI
(partial text first, Stop keeps it), analyse text, re-run and copy from history, save as a workflow, and
viewers kept to looking."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, sign_in
from tests.fakes import openai_server
from tests.fakes.openai_server import FakeOpenAIServer

pytestmark = pytest.mark.e2e
PASSWORD = "amber-falcon-lantern-42"
SECONDS_PER_STREAMED_WORD = 0.4


def _open_studio(page: Page) -> None:
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto("/ai")
    expect(page.get_by_role("heading", name="AI Studio")).to_be_visible()


def _answer(page: Page) -> Locator:
    return page.get_by_role("region", name="Answer")


def _choose_provider(page: Page, label: str) -> None:
    page.get_by_role("combobox", name="Provider").click()
    page.get_by_role("option", name=label, exact=True).click()
    expect(page.get_by_role("combobox", name="Provider")).to_contain_text(label)


@pytest.fixture
def slow_stream(fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAIServer]:
    """The loopback OpenAI, sending its streamed words with a pause between them (same events, slower)."""
    send_chunks = openai_server._chunks

    async def slowly(*args: Any) -> AsyncIterator[bytes]:
        async for event in send_chunks(*args):
            yield event
            await asyncio.sleep(SECONDS_PER_STREAMED_WORD)

    monkeypatch.setattr(openai_server, "_chunks", slowly)
    fake_openai.reset()
    yield fake_openai
    fake_openai.reset()


def test_builtin_generation_fills_the_answer_and_history_reruns_from_cache(page: Page) -> None:
    tag = uuid.uuid4().hex[:6]
    _open_studio(page)
    expect(_answer(page)).to_contain_text("Nothing generated yet")
    expect(page.get_by_role("combobox", name="Provider")).to_contain_text("Builtin (offline)")

    page.get_by_label("Prompt", exact=True).fill("Write a launch note about {{ topic }} for the team")
    page.get_by_label("Value for topic").fill(f"solar panels {tag}")
    page.get_by_role("button", name="Generate").click()

    # The builtin provider restates the filled-in prompt as the document's title, under its fixed header;
    # the answer shows rendered, and as written under "Markdown".
    title = f"Write a launch note about solar panels {tag} for the team"
    expect(_answer(page).get_by_role("heading", name=title)).to_be_visible()
    expect(_answer(page)).to_contain_text("Generated offline by the builtin provider")
    _answer(page).get_by_role("tab", name="Markdown").click()
    expect(_answer(page)).to_contain_text(f"# {title}")
    _answer(page).get_by_role("tab", name="Preview").click()
    expect(_answer(page).get_by_role("heading", name=title)).to_be_visible()
    usage = page.locator("#ai-usage")
    expect(usage).to_contain_text("builtin · builtin-offline")
    expect(usage).to_contain_text(re.compile(r"\d+ tokens in · \d+ out · \$0\.0000 · \d+ ms"))
    expect(usage).not_to_contain_text("from cache")

    history = page.get_by_role("region", name="Generation history")
    row = history.get_by_role("row").filter(has_text=f"Write a launch note about solar panels {tag}")
    expect(row).to_have_count(1)
    row.get_by_role("button", name="Re-run").click()
    expect(usage).to_contain_text("from cache")
    expect(history.get_by_role("row")).to_have_count(3)  # the header and two generations

    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    history.get_by_role("row").nth(1).get_by_role("button", name="Copy").click()
    expect(page.get_by_role("status").filter(has_text="Copied")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith(f"# Write a launch note about solar panels {tag} for the team"), copied


def test_ctrl_enter_in_the_prompt_generates(page: Page) -> None:
    tag = uuid.uuid4().hex[:6]
    _open_studio(page)
    prompt = page.get_by_label("Prompt", exact=True)
    prompt.fill(f"Summarise the meeting notes of week {tag}")
    prompt.press("Control+Enter")
    expect(_answer(page).get_by_role("heading", name=f"Summarise the meeting notes of week {tag}")).to_be_visible()
    expect(page.locator("#ai-usage")).to_contain_text("builtin")


def test_analyze_shows_a_sentiment_gauge_keyword_chips_and_a_summary(page: Page) -> None:
    _open_studio(page)
    page.get_by_role("tab", name="Analyze").click()
    page.get_by_label("Text to analyse").fill(
        "The new dashboard is wonderful and fast. Our team loves the clear charts and the excellent search. "
        "Support answered quickly and the onboarding was delightful.")
    expect(page.get_by_role("checkbox", name="Keywords")).to_be_checked()
    page.get_by_role("button", name="Analyze").click()

    expect(page.locator("#sentiment-label")).to_have_text("positive")
    expect(page.locator("[role=meter]")).to_have_attribute("aria-valuenow", re.compile(r"^0\.\d+"))
    chips = page.get_by_role("list", name="Keywords").get_by_role("listitem")
    expect(chips.filter(has_text="excellent search")).to_have_count(1)
    assert chips.count() >= 3
    expect(page.locator("#analysis-summary")).to_contain_text("Our team loves the clear charts")


def test_openai_answer_streams_in_pieces_and_stop_keeps_the_partial_text(page: Page,
                                                                           slow_stream: FakeOpenAIServer) -> None:
    _open_studio(page)
    _choose_provider(page, "OpenAI")
    words = [f"{word}{uuid.uuid4().hex[:4]}" for word in
             ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel")]
    page.get_by_label("Prompt", exact=True).fill(" ".join(words))
    page.get_by_role("button", name="Generate").click()

    # The fake answers "You said:" and the prompt's words reversed, one per pause: the first words show
    # while the last has not been sent yet and no usage line exists.
    expect(_answer(page)).to_contain_text(f"You said: {words[-1]}")
    assert words[0] not in _answer(page).inner_text()
    expect(page.locator("#ai-usage")).to_have_count(0)
    expect(page.get_by_role("button", name="Stop")).to_be_visible()
    expect(_answer(page)).to_contain_text(f"You said: {' '.join(reversed(words))}")
    expect(page.locator("#ai-usage")).to_contain_text("openai · gpt-4o-mini")
    expect(page.get_by_role("button", name="Stop")).to_have_count(0)
    assert slow_stream.requests[-1].body["stream"] is True

    many = [f"w{index}x{uuid.uuid4().hex[:4]}" for index in range(40)]
    page.get_by_label("Prompt", exact=True).fill(" ".join(many))
    page.get_by_role("button", name="Generate").click()
    expect(_answer(page)).to_contain_text(f"You said: {many[-1]} {many[-2]}")
    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_role("status").filter(has_text="Stopped")).to_contain_text("the answer above is partial")
    expect(page.get_by_role("button", name="Generate")).to_be_enabled()
    assert many[0] not in _answer(page).inner_text()
    expect(page.locator("#ai-usage")).to_have_count(0)


def test_a_provider_failure_is_shown_inline(page: Page, fake_openai: FakeOpenAIServer) -> None:
    _open_studio(page)
    _choose_provider(page, "OpenAI")
    fake_openai.fail_next(400, message="This model does not accept that prompt.")
    page.get_by_label("Prompt", exact=True).fill(f"Tell me about {uuid.uuid4().hex[:8]}")
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "The OpenAI provider answered HTTP 400: This model does not accept that prompt")
    expect(page.get_by_role("button", name="Generate")).to_be_enabled()


def test_save_as_workflow_node_creates_an_input_generate_output_workflow(page: Page, app_url: str) -> None:
    tag = uuid.uuid4().hex[:6]
    _open_studio(page)
    page.get_by_label("Prompt", exact=True).fill(f"Draft a reply to {{{{ customer }}}} about order {tag}")
    page.get_by_role("button", name="Save as workflow node").click()
    expect(page).to_have_url(re.compile(r"/workflows\?created=\d+"))
    workflow_id = re.search(r"created=(\d+)", page.url).group(1)  # type: ignore[union-attr]
    expect(page.get_by_role("status")).to_contain_text(f"Workflow {workflow_id} was saved")

    login = httpx.post(f"{app_url}/api/v3/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
                       timeout=30)
    detail = httpx.get(f"{app_url}/api/v3/workflows/{workflow_id}", timeout=30,
                       headers={"Authorization": f"Bearer {login.json()['access_token']}"}).json()
    nodes = {node["id"]: node for node in detail["graph"]["nodes"]}
    assert [nodes[n]["type"] for n in ("input", "generate", "output")] == ["input", "ai_generate", "output"]
    assert nodes["input"]["config"]["fields"] == ["customer"]
    assert nodes["generate"]["config"]["prompt"] == f"Draft a reply to {{{{ params.customer }}}} about order {tag}"
    assert nodes["generate"]["config"]["provider"] == "builtin"
    assert detail["name"] == f"AI Studio: Draft a reply to {{{{ customer }}}} about order {tag}"


def test_viewers_see_the_studio_but_cannot_generate_or_analyze(page: Page, app_url: str) -> None:
    email = f"viewer-{uuid.uuid4().hex[:8]}@example.com"
    httpx.post(f"{app_url}/api/v3/auth/register", json={"email": email, "password": PASSWORD}, timeout=30)
    sign_in(page, email, PASSWORD)
    page.goto("/ai")
    expect(page.get_by_text("editors and admins generate and analyse")).to_be_visible()
    expect(page.get_by_role("button", name="Generate")).to_be_disabled()
    expect(page.get_by_role("button", name="Save as workflow node")).to_be_disabled()

    # The server checks the role too: Ctrl+Enter submits the form even though the button is disabled.
    prompt = page.get_by_label("Prompt", exact=True)
    prompt.fill("Write a haiku about spending someone else's budget")
    prompt.press("Control+Enter")
    expect(page.get_by_role("alert")).to_contain_text("Your role (viewer) does not allow this")
    expect(page.locator("#ai-usage")).to_have_count(0)

    page.get_by_role("tab", name="Analyze").click()
    expect(page.get_by_role("button", name="Analyze")).to_be_disabled()
