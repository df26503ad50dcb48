"""The notification center in real Chromium: a notification sent through the API reaches another signed-in
browser's bell and inbox without a reload, read marks move the count, the admin's Sent tab shows the delivery
and retries a failed one, a notification sent by a run links to that run and node, the template editor previews
as you type, and the preferences form saves."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, sign_in
from tests.e2e.helpers import admin_api, create_workflow
from tests.fakes.smtp_server import FakeSMTPServer

pytestmark = pytest.mark.e2e
PASSWORD = "amber-falcon-lantern-42"
API = "/api/v3"


def _token(app_url: str, email: str, password: str) -> str:
    login = httpx.post(f"{app_url}{API}/auth/login", json={"email": email, "password": password}, timeout=30)
    assert login.status_code == 200, login.text
    return str(login.json()["access_token"])


def _new_member(app_url: str) -> str:
    email = f"member-{uuid.uuid4().hex[:8]}@example.com"
    created = httpx.post(f"{app_url}{API}/auth/register", json={"email": email, "password": PASSWORD}, timeout=30)
    assert created.status_code == 201 and created.json()["role"] == "viewer", created.text
    return email


def _bell(page: Page) -> Locator:
    return page.get_by_role("button", name=re.compile(r"^Notifications, "))


def _open_inbox(page: Page) -> None:
    page.goto("/inbox")
    expect(page.get_by_role("tab", name=re.compile("^Inbox"))).to_be_visible()
    # The bell's watcher has subscribed to this user's inbox events: from here on, sends show live.
    expect(page.locator("#bell")).to_have_attribute("data-live", "true")


@pytest.fixture
def second_page(browser: Browser, app_url: str) -> Iterator[Page]:
    """A second browser context: its own cookies, so its own signed-in user."""
    context = browser.new_context(base_url=app_url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(20_000)
    yield context.new_page()
    context.close()


def test_a_notification_sent_through_the_api_reaches_the_other_browser_live(page: Page, second_page: Page,
                                                                               app_url: str) -> None:
    member = _new_member(app_url)
    sign_in(second_page, member, PASSWORD)
    _open_inbox(second_page)
    expect(_bell(second_page)).to_have_accessible_name("Notifications, none unread")
    expect(second_page.get_by_text("Your inbox is empty")).to_be_visible()

    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)  # the sender, in its own browser
    subject = f"Quarterly report ready {uuid.uuid4().hex[:6]}"
    sent = httpx.post(f"{app_url}{API}/advanced/notifications/send", timeout=30,
                      headers={"Authorization": f"Bearer {_token(app_url, ADMIN_EMAIL, ADMIN_PASSWORD)}"},
                      json={"channel": "in_app", "recipient": member, "subject": subject,
                            "message": "The numbers are in; see the attached summary."})
    assert sent.status_code in (200, 201, 202), sent.text
    url_before = second_page.url

    # No reload: the same page shows the count and the item as the delivery lands.
    expect(_bell(second_page)).to_have_accessible_name("Notifications, 1 unread")
    expect(second_page.locator("#bell-count")).to_have_text("1")
    item = second_page.get_by_role("list", name="Notifications").get_by_role("listitem").filter(has_text=subject)
    expect(item).to_have_attribute("data-unread", "true")
    expect(item).to_contain_text("The numbers are in")
    assert second_page.url == url_before
    assert second_page.evaluate("performance.getEntriesByType('navigation').length") == 1

    item.get_by_role("button", name="Mark read").click()
    expect(_bell(second_page)).to_have_accessible_name("Notifications, none unread")
    expect(second_page.locator("#bell-count")).to_have_count(0)
    expect(item).to_have_attribute("data-unread", "false")
    item.get_by_role("button", name="Mark unread").click()
    expect(_bell(second_page)).to_have_accessible_name("Notifications, 1 unread")

    # The sender's Sent tab lists the delivery with its status; viewers have no such tab.
    page.goto("/inbox")
    page.get_by_role("tab", name="Sent").click()
    row = page.get_by_role("tabpanel", name="Sent").get_by_role("row").filter(has_text=subject)
    expect(row).to_contain_text("in_app")
    expect(row).to_contain_text("sent")
    expect(second_page.get_by_role("tab", name="Sent")).to_have_count(0)
    expect(second_page.get_by_role("tab", name="Templates")).to_have_count(0)


def test_mark_all_read_and_archive_empty_the_inbox(page: Page, app_url: str) -> None:
    member = _new_member(app_url)
    token = _token(app_url, ADMIN_EMAIL, ADMIN_PASSWORD)
    tag = uuid.uuid4().hex[:6]
    for index, category in enumerate(("billing", "runs")):
        httpx.post(f"{app_url}{API}/advanced/notifications/send", headers={"Authorization": f"Bearer {token}"},
                   json={"channel": "in_app", "recipient": member, "subject": f"{category} {tag} {index}",
                         "message": "Hello", "category": category}, timeout=30).raise_for_status()
    sign_in(page, member, PASSWORD)
    _open_inbox(page)
    items = page.get_by_role("list", name="Notifications").get_by_role("listitem")
    expect(items).to_have_count(2)
    expect(_bell(page)).to_have_accessible_name("Notifications, 2 unread")

    page.get_by_role("combobox", name="Category").click()
    page.get_by_role("option", name="billing").click()
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text(f"billing {tag}")

    page.get_by_role("button", name="Mark all read").click()
    expect(_bell(page)).to_have_accessible_name("Notifications, none unread")
    items.first.get_by_role("button", name="Archive").click()
    expect(page.get_by_text("Nothing matches")).to_be_visible()
    page.get_by_role("radio", name="Archive").click()
    expect(items.filter(has_text=f"billing {tag}")).to_have_count(1)


def test_the_template_editor_previews_as_you_type_and_saves_versions(page: Page, app_url: str) -> None:
    name = f"run-done-{uuid.uuid4().hex[:6]}"
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto("/inbox")
    page.get_by_role("tab", name="Templates").click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Sample variables (JSON)").fill('{"name": "Ada", "workflow": "Invoices"}')
    page.get_by_label("Subject").fill("{{ workflow }} finished")
    body = page.get_by_label("Body")
    body.fill("Hello {{ name }}")
    preview = page.get_by_role("region", name="Template preview")
    expect(preview).to_contain_text("Invoices finished")
    expect(preview).to_contain_text("Hello Ada")
    body.press_sequentially(", all done")
    expect(preview).to_contain_text("Hello Ada, all done")

    body.fill("Hello {{ name ")
    expect(page.locator("#template-body-error")).to_contain_text("syntax error")
    expect(preview).to_contain_text("Hello Ada, all done")  # the last good preview stays
    body.fill("Hi {{ name }}")
    expect(page.locator("#template-body-error")).to_have_count(0)
    expect(preview).to_contain_text("Hi Ada")

    page.get_by_role("button", name="Save template").click()
    expect(page.get_by_role("status")).to_contain_text(f"Saved {name} as version 1")
    body.fill("Hi {{ name }}, version two")
    expect(preview).to_contain_text("version two")
    page.get_by_role("button", name="Save template").click()
    expect(page.get_by_role("status")).to_contain_text(f"Saved {name} as version 2")

    token = _token(app_url, ADMIN_EMAIL, ADMIN_PASSWORD)
    saved = httpx.get(f"{app_url}{API}/advanced/notifications/templates/{name}", timeout=30,
                      headers={"Authorization": f"Bearer {token}"}).json()
    assert (saved["version"], saved["body"], saved["subject"]) == (2, "Hi {{ name }}, version two",
                                                                   "{{ workflow }} finished")


def test_the_preferences_form_saves_opt_outs_and_quiet_hours(page: Page, app_url: str) -> None:
    member = _new_member(app_url)
    sign_in(page, member, PASSWORD)
    page.goto("/inbox")
    page.get_by_role("tab", name="Preferences").click()
    expect(page.get_by_role("columnheader", name="SMS (Twilio)", exact=True)).to_be_visible()  # not "sms"
    email_for_general = page.get_by_role("checkbox", name="general on Email", exact=True)
    expect(email_for_general).to_be_checked()
    email_for_general.click()
    expect(email_for_general).not_to_be_checked()
    page.get_by_role("checkbox", name="All categories on SMS (Twilio)", exact=True).click()
    page.get_by_text("Quiet hours", exact=True).click()
    page.get_by_label("From").fill("21:30")
    page.get_by_label("Until").fill("06:45")
    page.get_by_role("combobox", name="Time zone").click()
    page.get_by_role("option", name="Europe/Berlin").click()
    page.get_by_role("button", name="Save preferences").click()
    expect(page.get_by_role("status")).to_contain_text("Preferences saved")

    saved = httpx.get(f"{app_url}{API}/advanced/notifications/preferences", timeout=30,
                      headers={"Authorization": f"Bearer {_token(app_url, member, PASSWORD)}"}).json()
    rules = {(r["category"], r["channel"]): r["enabled"] for r in saved["rules"]}
    assert rules[("general", "email")] is False
    assert rules[("*", "sms")] is False
    assert saved["quiet_hours"] == {"start": "21:30", "end": "06:45", "timezone": "Europe/Berlin"}

    page.reload()
    page.get_by_role("tab", name="Preferences").click()
    expect(page.get_by_role("checkbox", name="general on Email", exact=True)).not_to_be_checked()
    expect(page.get_by_role("checkbox", name="general on SMS (Twilio)", exact=True)).not_to_be_checked()
    expect(page.get_by_role("checkbox", name="general on Slack", exact=True)).to_be_checked()


def test_the_preferences_form_turns_the_digest_on_per_channel(page: Page, app_url: str) -> None:
    member = _new_member(app_url)
    sign_in(page, member, PASSWORD)
    page.goto("/inbox")
    page.get_by_role("tab", name="Preferences").click()
    page.get_by_role("checkbox", name="general on Email", exact=True).click()  # a category rule on email too
    digest_email = page.get_by_role("switch", name="Digest on Email", exact=True)
    expect(digest_email).not_to_be_checked()
    digest_email.click()
    page.get_by_role("button", name="Save preferences").click()
    expect(page.get_by_role("status")).to_contain_text("Preferences saved")

    saved = httpx.get(f"{app_url}{API}/advanced/notifications/preferences", timeout=30,
                      headers={"Authorization": f"Bearer {_token(app_url, member, PASSWORD)}"}).json()
    rules = {(r["category"], r["channel"]): r for r in saved["rules"]}
    assert rules[("*", "email")]["digest"] is True and rules[("*", "email")]["enabled"] is True
    assert rules[("general", "email")] == {"category": "general", "channel": "email", "enabled": False,
                                           "digest": True}
    assert not any(rule["digest"] for (_category, channel), rule in rules.items() if channel != "email")

    page.reload()
    page.get_by_role("tab", name="Preferences").click()
    expect(page.get_by_role("switch", name="Digest on Email", exact=True)).to_be_checked()
    expect(page.get_by_role("switch", name="Digest on SMS (Twilio)", exact=True)).not_to_be_checked()
    page.get_by_role("switch", name="Digest on Email", exact=True).click()
    page.get_by_role("button", name="Save preferences").click()
    expect(page.get_by_role("status")).to_contain_text("Preferences saved")
    saved = httpx.get(f"{app_url}{API}/advanced/notifications/preferences", timeout=30,
                      headers={"Authorization": f"Bearer {_token(app_url, member, PASSWORD)}"}).json()
    assert not any(rule["digest"] for rule in saved["rules"])


def test_a_failed_email_in_the_sent_tab_is_retried_and_then_sent(page: Page, app_url: str,
                                                                  fake_smtp: FakeSMTPServer) -> None:
    subject = f"Invoice batch {uuid.uuid4().hex[:6]}"
    fake_smtp.refuse_next(550, "5.1.1 Mailbox unavailable", at="rcpt")  # permanent: failed, no automatic retry
    with admin_api(app_url) as api:
        sent = api.post("/advanced/notifications/send", json={"channel": "email", "recipient": "ap@example.com",
                                                               "subject": subject, "message": "Batch attached."})
        assert sent.status_code == 202, sent.text
        notification = f"/advanced/notifications/{sent.json()['notification_id']}"
        _wait_for(lambda: api.get(notification).json()["deliveries"][0]["status"] == "failed")

    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto("/inbox")
    page.get_by_role("tab", name="Sent").click()
    row = page.get_by_role("tabpanel", name="Sent").get_by_role("row").filter(has_text=subject)
    expect(row).to_contain_text("failed")
    row.get_by_role("button", name="Retry").click()
    expect(page.get_by_role("status")).to_contain_text("Queued again")

    _wait_for(lambda: any(mail.message["Subject"] == subject for mail in fake_smtp.received))
    page.reload()
    page.get_by_role("tab", name="Sent").click()
    expect(row).to_contain_text("sent")
    expect(row).not_to_contain_text("failed")
    expect(row.get_by_role("button", name="Retry")).to_have_count(0)


def test_a_notification_from_a_run_links_to_the_run_and_its_node(page: Page, app_url: str) -> None:
    subject = f"Run note {uuid.uuid4().hex[:6]}"
    graph = {"nodes": [{"id": "in", "type": "input", "config": {}},
                       {"id": "tell", "type": "notify", "config": {"subject": subject, "message": "Done."}}],
             "edges": [{"source": "in", "target": "tell"}]}
    with admin_api(app_url) as api:
        workflow_id = create_workflow(api, f"Notify {uuid.uuid4().hex[:6]}", graph)
        run = api.post(f"/workflows/{workflow_id}/execute", json={"wait": True})
        assert run.status_code == 200 and run.json()["status"] == "succeeded", run.text
    run_id = run.json()["id"]

    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    _open_inbox(page)
    item = page.get_by_role("list", name="Notifications").get_by_role("listitem").filter(has_text=subject)
    link = item.get_by_role("link", name=f"from run {run_id} · node tell")
    expect(link).to_have_attribute("href", f"/runs/{run_id}")
    page.get_by_role("tab", name="Sent").click()
    sent_row = page.get_by_role("tabpanel", name="Sent").get_by_role("row").filter(has_text=subject)
    expect(sent_row).to_contain_text("node tell")
    expect(sent_row.get_by_role("link")).to_have_attribute("href", f"/runs/{run_id}")

    page.get_by_role("tab", name=re.compile("^Inbox")).click()
    link.click()
    expect(page).to_have_url(re.compile(f"/runs/{run_id}$"))
    expect(page.get_by_role("heading", name=f"Run {run_id}")).to_be_visible()


def _wait_for(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.2)
