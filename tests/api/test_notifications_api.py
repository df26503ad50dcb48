"""/api/v3/advanced/notifications and /api/v3/inbox against a real database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from models.user import Role
from services.notifications.dispatch import InProcessDeliveryQueue, use_delivery_queue
from tests.api.conftest import Headers, account

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
    channels = {c["name"]: c for c in (await live.get(f"{N}/channels", headers=viewer)).json()}
    assert {"email", "in_app"} <= set(channels)
    assert channels["in_app"]["health"]["status"] == "ok"  # live checks by default
    assert channels["email"]["health"]["status"] in ("ok", "down", "not_configured")
    quick = (await live.get(f"{N}/channels", headers=viewer, params={"check": "false"})).json()
    assert all(c["health"] is None for c in quick)


async def _inbox_item(http: httpx.AsyncClient, sender: Headers, queue: InProcessDeliveryQueue, **fields: Any) -> str:
    sent = await http.post(f"{N}/send", headers=sender, json={"channel": "in_app", "recipient": "viewer@example.com",
                                                              "subject": "S", "message": "M", **fields})
    assert sent.status_code == 202, sent.text
    await queue.drain()
    return str(sent.json()["notification_id"])


async def test_bulk_reports_queued_duplicate_and_rejected_counts_and_a_repeat_resumes(
        live: httpx.AsyncClient, in_process_queue: InProcessDeliveryQueue) -> None:
    editor = await account(live, "editor@example.com", Role.EDITOR)
    viewer = await account(live, "viewer@example.com", Role.VIEWER)
    await account(live, "other@example.com", Role.VIEWER)
    body = {"channel": "in_app", "subject": "All hands", "message": "At noon", "idempotency_key": "allhands",
            "recipients": ["viewer@example.com", "VIEWER@example.com", "other@example.com", "nobody@example.com"]}
    answer = await live.post(f"{N}/bulk", headers=editor, json=body)
    assert answer.status_code == 202, answer.text
    summary = answer.json()
    assert {k: summary[k] for k in ("requested", "queued", "duplicates", "failed", "rejected")} == {
        "requested": 4, "queued": 2, "duplicates": 1, "failed": 0, "rejected": 1}
    [example] = summary["rejected_examples"]
    assert example["recipient"] == "nobody@example.com" and "existing user" in example["message"]
    await in_process_queue.drain()
    assert (await live.get("/api/v3/inbox", headers=viewer)).json()["unread"] == 1
    again = (await live.post(f"{N}/bulk", headers=editor, json=body)).json()
    assert (again["queued"], again["duplicates"], again["rejected"]) == (0, 3, 1)  # 2 sent before, 1 in the call
    too_many = await live.post(f"{N}/bulk", headers=editor, json={**body, "recipients": ["a@example.com"] * 10_001})
    assert too_many.status_code == 422 and "recipients" in too_many.text
    assert (await live.post(f"{N}/bulk", headers=viewer, json=body)).status_code == 403


async def test_a_bulk_sends_progress_counts_its_deliveries_by_status_for_its_sender_and_admins(
        live: httpx.AsyncClient, in_process_queue: InProcessDeliveryQueue) -> None:
    editor = await account(live, "editor@example.com", Role.EDITOR)
    admin = await account(live, "admin@example.com", Role.ADMIN)
    other_editor = await account(live, "editor2@example.com", Role.EDITOR)
    viewer = await account(live, "viewer@example.com", Role.VIEWER)
    opted_out = await account(live, "quiet@example.com", Role.VIEWER)
    assert (await live.put(f"{N}/preferences", headers=opted_out, json={
        "rules": [{"category": "*", "channel": "in_app", "enabled": False}]})).status_code == 200
    body = {"channel": "in_app", "subject": "Release", "message": "v2 is out", "idempotency_key": "release-2",
            "recipients": ["viewer@example.com", "editor2@example.com", "quiet@example.com"]}
    summary = (await live.post(f"{N}/bulk", headers=editor, json=body)).json()
    await in_process_queue.drain()

    progress = await live.get(f"{N}/bulk/{summary['id']}", headers=editor)

    assert progress.status_code == 200, progress.text
    assert progress.json() == {"id": summary["id"], "channel": "in_app", "total": 3, "queued": 0, "held_for_digest": 0,
                               "sending": 0, "sent": 2, "failed": 1, "dead": 0, "digested": 0, "done": True}
    assert (await live.post(f"{N}/bulk", headers=editor, json=body)).json()["id"] == summary["id"]  # a resume
    assert (await live.get(f"{N}/bulk/{summary['id']}", headers=admin)).json()["sent"] == 2
    assert (await live.get(f"{N}/bulk/{summary['id']}", headers=other_editor)).status_code == 404
    assert (await live.get(f"{N}/bulk/{summary['id']}", headers=viewer)).status_code == 403
    assert (await live.get(f"{N}/bulk/{uuid.uuid4()}", headers=admin)).status_code == 404
    assert (await live.get(f"{N}/bulk/not-an-id", headers=admin)).status_code == 422


async def test_retry_requeues_only_failed_or_dead_deliveries(
        live: httpx.AsyncClient, in_process_queue: InProcessDeliveryQueue) -> None:
    editor = await account(live, "editor@example.com", Role.EDITOR)
    viewer = await account(live, "viewer@example.com", Role.VIEWER)
    opt_out = {"rules": [{"category": "news", "channel": "in_app", "enabled": False}]}
    assert (await live.put(f"{N}/preferences", headers=viewer, json=opt_out)).status_code == 200
    failed = await live.post(f"{N}/send", headers=editor, json={
        "channel": "in_app", "recipient": "viewer@example.com", "category": "news", "message": "Opted out"})
    assert (failed.json()["status"], failed.json()["note"]) == ("failed", "recipient opted out")
    notification_id = failed.json()["notification_id"]
    retried = await live.post(f"{N}/{notification_id}/retry", headers=editor)
    assert retried.status_code == 202 and retried.json()["status"] == "queued", retried.text
    await in_process_queue.drain()
    detail = (await live.get(f"{N}/{notification_id}", headers=editor)).json()
    assert detail["deliveries"][0]["status"] == "sent" and detail["deliveries"][0]["attempts"] == 1
    again = await live.post(f"{N}/{notification_id}/retry", headers=editor)
    assert again.status_code == 409 and "failed or dead" in again.json()["error"]["message"]
    queued = await live.post(f"{N}/send", headers=editor, json={"channel": "in_app", "message": "to me"})
    assert (await live.post(f"{N}/{queued.json()['notification_id']}/retry", headers=editor)).status_code == 409
    assert (await live.post(f"{N}/{notification_id}/retry", headers=viewer)).status_code == 403
    missing = await live.post(f"{N}/00000000-0000-0000-0000-000000000000/retry", headers=editor)
    assert missing.status_code == 404


async def test_templates_crud_versions_preview_and_syntax_errors_name_the_field(
        live: httpx.AsyncClient, in_process_queue: InProcessDeliveryQueue) -> None:
    editor = await account(live, "editor@example.com", Role.EDITOR)
    viewer = await account(live, "viewer@example.com", Role.VIEWER)
    T = f"{N}/templates"
    body = {"name": "welcome", "channel": "in_app", "subject": "Hi {{ name }}", "body": "Welcome, {{ name }}!",
            "sample_variables": {"name": "Ada"}}
    created = await live.post(T, headers=editor, json=body)
    assert created.status_code == 201 and created.json()["version"] == 1, created.text
    assert (await live.post(T, headers=editor, json=body)).status_code == 409
    assert (await live.post(T, headers=viewer, json={**body, "name": "other"})).status_code == 403
    updated = await live.put(f"{T}/welcome", headers=editor, json={**{k: v for k, v in body.items() if k != "name"},
                                                                    "body": "Hello again, {{ name }}."})
    assert updated.status_code == 200 and updated.json()["version"] == 2, updated.text
    assert (await live.get(f"{T}/welcome", headers=viewer)).json()["body"] == "Hello again, {{ name }}."
    assert (await live.get(f"{T}/welcome?version=1", headers=viewer)).json()["body"] == "Welcome, {{ name }}!"
    assert [(t["name"], t["version"]) for t in (await live.get(T, headers=viewer)).json()] == [("welcome", 2)]
    broken = await live.put(f"{T}/welcome", headers=editor, json={"channel": "in_app", "subject": "Hi {{ name",
                                                                   "body": "ok"})
    assert broken.status_code == 422 and broken.json()["error"]["details"][0]["field"] == "subject", broken.text
    preview = await live.post(f"{T}/preview", headers=viewer, json={
        "channel": "in_app", "subject": "Hi {{ name }}", "body": "{{ n * 2 }} items", "sample_variables": {"n": 1},
        "variables": {"name": "Grace", "n": 21}})
    assert preview.json() == {"subject": "Hi Grace", "body": "42 items", "html": None}, preview.text
    bad_preview = await live.post(f"{T}/preview", headers=viewer, json={"channel": "in_app", "body": "{% if %}"})
    assert bad_preview.status_code == 422 and bad_preview.json()["error"]["details"][0]["field"] == "body"
    undeclared = await live.put(f"{T}/welcome", headers=editor, json={"channel": "in_app", "body": "Hi {{ nmae }}",
                                                                       "sample_variables": {"name": "Ada"}})
    assert undeclared.status_code == 422, undeclared.text
    assert undeclared.json()["error"]["message"].startswith("sample_variables: missing nmae (body uses nmae)")
    assert undeclared.json()["error"]["details"][0]["field"] == "sample_variables.nmae"
    unknown = await live.post(T, headers=editor, json={**body, "name": "pigeon-post", "channel": "pigeon"})
    assert unknown.status_code == 422 and unknown.json()["error"]["details"][0]["field"] == "channel", unknown.text
    no_name = await live.post(f"{N}/send", headers=editor, json={"channel": "in_app", "recipient": "viewer@example.com",
                                                                  "template": {"name": "welcome"}})
    assert no_name.status_code == 422, no_name.text
    assert "missing name" in no_name.json()["error"]["message"]
    assert no_name.json()["error"]["details"][0]["field"] == "variables.name"
    await _inbox_item(live, editor, in_process_queue, subject="", message="", template={"name": "welcome"},
                      variables={"name": "Lin"})
    item = (await live.get("/api/v3/inbox", headers=viewer)).json()["data"][0]
    assert (item["subject"], item["body"], item["template_version"]) == ("Hi Lin", "Hello again, Lin.", 2)
    assert (await live.delete(f"{T}/welcome", headers=editor)).status_code == 204
    assert (await live.get(f"{T}/welcome", headers=viewer)).status_code == 404
    assert (await live.put(f"{T}/welcome", headers=editor, json={"channel": "in_app", "body": "x"})).status_code == 404


async def test_preferences_round_trip_refuse_bad_input_and_hold_low_priority_for_the_digest(
        live: httpx.AsyncClient, in_process_queue: InProcessDeliveryQueue) -> None:
    editor = await account(live, "editor@example.com", Role.EDITOR)
    viewer = await account(live, "viewer@example.com", Role.VIEWER)
    P = f"{N}/preferences"
    assert (await live.get(P, headers=viewer)).json() == {"rules": [], "quiet_hours": None}
    wanted = {"rules": [{"category": "digest-me", "channel": "in_app", "enabled": True, "digest": True},
                        {"category": "news", "channel": "*", "enabled": False, "digest": False}],
              "quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "Europe/Paris"}}
    saved = await live.put(P, headers=viewer, json=wanted)
    assert saved.status_code == 200, saved.text
    # Quiet hours live on the "*"/"*" row, which therefore reads back as a (neutral) rule too.
    assert saved.json()["rules"] == [{"category": "*", "channel": "*", "enabled": True, "digest": False},
                                     *wanted["rules"]]
    assert saved.json()["quiet_hours"] == wanted["quiet_hours"]
    assert (await live.get(P, headers=viewer)).json() == saved.json()
    mars = {"quiet_hours": {**wanted["quiet_hours"], "timezone": "Mars/Base"}}
    bad_zone = await live.put(P, headers=viewer, json=mars)
    assert bad_zone.status_code == 422 and bad_zone.json()["error"]["details"][0]["field"] == "quiet_hours.timezone"
    duplicate = await live.put(P, headers=viewer, json={"rules": [wanted["rules"][0], wanted["rules"][0]]})
    assert duplicate.status_code == 422 and duplicate.json()["error"]["details"][0]["field"] == "rules"
    bad_hour = await live.put(P, headers=viewer, json={"quiet_hours": {"start": "25:00", "end": "07:00"}})
    assert bad_hour.status_code == 422 and "quiet_hours.start" in bad_hour.text
    send = {"channel": "in_app", "recipient": "viewer@example.com", "message": "m"}
    refused = (await live.post(f"{N}/send", headers=editor, json={**send, "category": "news", "priority": "urgent"}))
    assert (refused.json()["status"], refused.json()["note"]) == ("failed", "recipient opted out")
    held = (await live.post(f"{N}/send", headers=editor, json={**send, "category": "digest-me", "priority": "low",
                                                                 "message": "for the digest"}))
    assert (held.json()["status"], held.json()["next_attempt_at"]) == ("queued", None), held.text
    assert held.json()["note"] == "held for the recipient's digest"
    detail = (await live.get(f"{N}/{held.json()['notification_id']}", headers=editor)).json()
    assert detail["deliveries"][0]["response"] == {"digest": "pending"}


async def test_inbox_unread_archive_and_category_filter(
        live: httpx.AsyncClient, in_process_queue: InProcessDeliveryQueue) -> None:
    editor = await account(live, "editor@example.com", Role.EDITOR)
    viewer = await account(live, "viewer@example.com", Role.VIEWER)
    first = await _inbox_item(live, editor, in_process_queue, category="alerts", message="one")
    second = await _inbox_item(live, editor, in_process_queue, category="news", message="two")
    assert (await live.post(f"/api/v3/inbox/{first}/read", headers=viewer)).status_code == 204
    page = (await live.get("/api/v3/inbox?unread_only=true", headers=viewer)).json()
    assert (page["unread"], [i["body"] for i in page["data"]]) == (1, ["two"])
    assert (await live.post(f"/api/v3/inbox/{first}/unread", headers=viewer)).status_code == 204
    assert (await live.get("/api/v3/inbox", headers=viewer)).json()["unread"] == 2
    assert (await live.post(f"/api/v3/inbox/{second}/archive", headers=viewer)).status_code == 204
    page = (await live.get("/api/v3/inbox", headers=viewer)).json()
    assert (page["unread"], page["count"], [i["body"] for i in page["data"]]) == (1, 1, ["one"])
    archived = (await live.get("/api/v3/inbox?archived=true", headers=viewer)).json()
    assert [i["id"] for i in archived["data"]] == [second] and archived["data"][0]["archived_at"]
    assert [i["body"] for i in (await live.get("/api/v3/inbox?category=alerts", headers=viewer)).json()["data"]] == [
        "one"]
    assert (await live.get("/api/v3/inbox?category=news", headers=viewer)).json()["count"] == 0
    assert (await live.post(f"/api/v3/inbox/{first}/archive", headers=editor)).status_code == 404  # not theirs
    assert (await live.post(f"/api/v3/inbox/{uuid.uuid4()}/unread", headers=viewer)).status_code == 404


async def test_history_filters_by_channel_status_dates_and_run_and_pages(
        live: httpx.AsyncClient, in_process_queue: InProcessDeliveryQueue) -> None:
    admin = await account(live, "admin@example.com", Role.ADMIN)
    await account(live, "viewer@example.com", Role.VIEWER)
    before = datetime.now(UTC)
    for n in range(5):
        await _inbox_item(live, admin, in_process_queue, message=f"in-app {n}")
    # Email is not configured in the tests: the delivery fails permanently, which is a status to filter on.
    email = await live.post(f"{N}/send", headers=admin, json={"channel": "email", "recipient": "user@example.com",
                                                               "subject": "Test", "message": "Hello"})
    await in_process_queue.drain()
    graph = {"nodes": [{"id": "in", "type": "input", "config": {}},
                       {"id": "tell", "type": "notify", "config": {"message": "from a run"}}],
             "edges": [{"source": "in", "target": "tell"}]}
    workflow = (await live.post("/api/v3/workflows", headers=admin, json={"name": "n", "graph": graph})).json()
    run = (await live.post(f"/api/v3/workflows/{workflow['id']}/execute", headers=admin,
                           json={"parameters": {}, "wait": True})).json()
    assert run["status"] == "succeeded", run
    await in_process_queue.drain()
    after = datetime.now(UTC)

    async def history(**params: Any) -> dict[str, Any]:
        answer = await live.get(f"{N}/history", headers=admin, params=params)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    assert (await history())["count"] == 7
    assert (await history(channel="email"))["data"][0]["id"] == email.json()["notification_id"]
    failed = await history(status="failed")
    assert (failed["count"], failed["data"][0]["channel"], failed["data"][0]["status"]) == (1, "email", "failed")
    assert (await history(status="sent", channel="in_app"))["count"] == 6
    by_run = await history(run_id=run["id"])
    assert (by_run["count"], by_run["data"][0]["node_id"], by_run["data"][0]["body"]) == (1, "tell", "from a run")
    assert (await history(since=before.isoformat(), until=after.isoformat()))["count"] == 7
    assert (await history(since=after.isoformat()))["count"] == 0
    assert (await history(until=before.isoformat()))["count"] == 0
    first, second = await history(limit=3), await history(limit=3, offset=3)
    assert (first["count"], len(first["data"]), len(second["data"])) == (7, 3, 3)
    assert not {i["id"] for i in first["data"]} & {i["id"] for i in second["data"]}
    newest_first = [i["created_at"] for i in first["data"] + second["data"]]
    assert newest_first == sorted(newest_first, reverse=True)
    assert (await live.get(f"{N}/history", headers=admin, params={"limit": 501})).status_code == 422
    assert (await live.get(f"{N}/history", headers=admin, params={"status": "lost"})).status_code == 422
