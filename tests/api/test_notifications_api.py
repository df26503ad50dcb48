"""/api/v3/advanced/notifications and /api/v3/inbox against a real database."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from models.user import Role
from services.notifications.dispatch import InProcessDeliveryQueue, use_delivery_queue
from tests.api.conftest import account

N = "/api/v3/advanced/notifications"


@pytest.fixture
def in_process_queue() -> Iterator[InProcessDeliveryQueue]:
    queue = InProcessDeliveryQueue()
    use_delivery_queue(queue)
    yield queue
    use_delivery_queue(None)


async def test_send_in_app_then_the_inbox_shows_it_and_read_all_clears_it(
        live: httpx.AsyncClient, in_process_queue: InProcessDeliveryQueue) -> None:
    editor = await account(live, "editor@example.com", Role.EDITOR)
    viewer = await account(live, "viewer@example.com", Role.VIEWER)
    sent = await live.post(f"{N}/send", headers=editor, json={"channel": "in_app", "recipient": "viewer@example.com",
                                                              "subject": "Test", "message": "Hello"})
    assert sent.status_code == 202, sent.text
    await in_process_queue.drain()
    page = (await live.get("/api/v3/inbox", headers=viewer)).json()
    assert page["unread"] == 1 and page["data"][0]["body"] == "Hello"
    assert (await live.post("/api/v3/inbox/read-all", headers=viewer)).status_code == 204
    assert (await live.get("/api/v3/inbox", headers=viewer)).json()["unread"] == 0
    detail = await live.get(f"{N}/{sent.json()['notification_id']}", headers=editor)
    assert detail.json()["deliveries"][0]["status"] == "sent"


async def test_bad_input_names_the_field_and_viewers_may_not_send(live: httpx.AsyncClient) -> None:
    editor = await account(live, "editor@example.com", Role.EDITOR)
    viewer = await account(live, "viewer@example.com", Role.VIEWER)
    seed = {"channel": "email", "recipient": "user@example.com", "subject": "Test", "message": "Hello"}
    assert (await live.post(f"{N}/send", headers=viewer, json=seed)).status_code == 403
    cases = [({"channel": "pigeon"}, "channel"), ({"recipient": "not-an-email"}, "recipient"),
             ({"message": "x" * 100_001}, "message"), ({"message": "{{ oops"}, "message")]
    for change, field in cases:
        answer = await live.post(f"{N}/send", headers=editor, json={**seed, **change})
        assert answer.status_code == 422, (change, answer.text)
        assert field in str(answer.json()["error"]["details"]), (change, answer.text)


async def test_history_of_everyone_is_for_admins_and_editors_see_their_own(
        live: httpx.AsyncClient, in_process_queue: InProcessDeliveryQueue) -> None:
    admin = await account(live, "admin@example.com", Role.ADMIN)
    editor = await account(live, "editor@example.com", Role.EDITOR)
    viewer = await account(live, "viewer@example.com", Role.VIEWER)
    await live.post(f"{N}/send", headers=admin, json={"channel": "in_app", "recipient": "viewer@example.com",
                                                      "message": "from admin"})
    await in_process_queue.drain()
    assert (await live.get(f"{N}/history", headers=admin)).json()["count"] == 1
    assert (await live.get(f"{N}/history", headers=editor)).json()["count"] == 0
    assert (await live.get(f"{N}/history", headers=viewer)).status_code == 403
    channels = (await live.get(f"{N}/channels", headers=viewer)).json()
    assert {"email", "in_app"} <= {c["name"] for c in channels}
