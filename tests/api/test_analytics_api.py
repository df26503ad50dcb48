"""/api/v3/advanced/analytics: summary, time series, insights, a user's activity, CSV export; bad input and roles."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from models.analytics import EventType
from models.base import utcnow
from models.user import Role, User
from services.analytics.recorder import flush_events, get_recorder, insert_events
from services.db import open_session
from tests.api.conftest import Headers, account

BASE = "/api/v3/advanced/analytics"


@pytest.fixture
async def viewer(live: httpx.AsyncClient) -> Headers:
    get_recorder().discard_pending()
    await account(live, "admin@example.com", Role.ADMIN)  # the first account is the admin
    return await account(live, "viewer@example.com", Role.VIEWER)


async def admin_headers(live: httpx.AsyncClient) -> Headers:
    token = (await live.post("/api/v3/auth/login", json={"email": "admin@example.com",
                                                          "password": "amber-falcon-lantern-42"})).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


async def user_id(email: str) -> str:
    from sqlmodel import select

    async with open_session() as session:
        return str((await session.exec(select(User.id).where(User.email == email))).one())


async def test_summary_counts_runs_of_the_last_day_against_the_day_before(live: httpx.AsyncClient,
                                                                          viewer: Headers) -> None:
    now = utcnow()
    await insert_events([{"type": EventType.RUN_FINISHED.value, "time": now - timedelta(hours=1), "status": s,
                          "workflow_id": 1, "duration_ms": d} for s, d in (("succeeded", 100.0), ("failed", 300.0))]
                        + [{"type": EventType.RUN_FINISHED.value, "time": now - timedelta(hours=30),
                            "status": "succeeded", "duration_ms": 50.0}])
    answer = await live.get(f"{BASE}/summary", params={"time_range": "day"}, headers=viewer)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["current"]["runs"], body["current"]["success_rate"], body["current"]["duration_avg_ms"]) == (
        2, 0.5, 200.0)
    assert (body["previous"]["runs"], body["change"]["runs"]) == (1, 1.0)


async def test_timeseries_groups_by_status_in_hour_buckets(live: httpx.AsyncClient, viewer: Headers) -> None:
    now = utcnow()
    await insert_events([{"type": "run_finished", "time": now - timedelta(minutes=m), "status": "failed"}
                         for m in (1, 2)])
    answer = await live.get(f"{BASE}/timeseries", headers=viewer,
                            params={"metric": "runs", "bucket": "hour", "time_range": "week", "group_by": "status"})
    assert answer.status_code == 200, answer.text
    series = answer.json()["series"]
    assert [(s["group"], s["total"]) for s in series] == [("failed", 2.0)]
    assert len(series[0]["points"]) in (168, 169)  # every hour of the week, zeros included


@pytest.mark.parametrize(("params", "field"), [
    ({"time_range": "year3000"}, "time_range"),
    ({"bucket": "minutely"}, "bucket"),
    ({"metric": "vibes"}, "metric"),
    ({"time_range": "custom", "from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"}, "from"),
    ({"time_range": "custom", "from": "2026-11-01T00:00:00Z"}, "to"),
    ({"time_range": "custom", "from": "2016-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "bucket"),
])
async def test_bad_input_is_a_422_naming_the_field(live: httpx.AsyncClient, viewer: Headers,
                                                   params: dict[str, str], field: str) -> None:
    answer = await live.get(f"{BASE}/timeseries", params=params, headers=viewer)
    assert answer.status_code == 422, answer.text
    assert field in [problem["field"] for problem in answer.json()["error"]["details"]]


async def test_summary_refuses_an_unknown_time_range(live: httpx.AsyncClient, viewer: Headers) -> None:
    answer = await live.get(f"{BASE}/summary", params={"time_range": "year3000"}, headers=viewer)
    assert answer.status_code == 422 and "time_range" in answer.json()["error"]["message"]


async def test_insights_answer_a_list(live: httpx.AsyncClient, viewer: Headers) -> None:
    answer = await live.get(f"{BASE}/insights", headers=viewer)
    assert answer.status_code == 200 and answer.json() == []


async def test_a_user_sees_their_own_activity_and_only_an_admin_sees_others(live: httpx.AsyncClient,
                                                                           viewer: Headers) -> None:
    mine, admins = await user_id("viewer@example.com"), await user_id("admin@example.com")
    assert (await live.get("/api/v3/auth/me", headers=viewer)).status_code == 200
    await flush_events()  # the sign-ins and the API call the hooks recorded
    answer = await live.get(f"{BASE}/users/{mine}/activity", params={"time_range": "week"}, headers=viewer)
    assert answer.status_code == 200, answer.text
    counts = answer.json()["counts"]
    assert counts["login"] == 1 and counts["api_call"] >= 1 and answer.json()["last_login_at"] is not None
    assert (await live.get(f"{BASE}/users/{admins}/activity", headers=viewer)).status_code == 403
    as_admin = await live.get(f"{BASE}/users/{mine}/activity", headers=await admin_headers(live))
    assert as_admin.status_code == 200


async def test_export_is_csv_for_admins_only(live: httpx.AsyncClient, viewer: Headers) -> None:
    await insert_events([{"type": "login", "time": utcnow() - timedelta(minutes=5), "provider": None}])
    assert (await live.get(f"{BASE}/export", params={"format": "csv"}, headers=viewer)).status_code == 403
    answer = await live.get(f"{BASE}/export", params={"format": "csv", "time_range": "day"},
                            headers=await admin_headers(live))
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    lines = answer.text.strip().splitlines()
    assert lines[0].startswith("time,type,user_id") and any(",login," in line for line in lines[1:])
    bad = await live.get(f"{BASE}/export", params={"format": "xlsx"}, headers=await admin_headers(live))
    assert bad.status_code == 422


async def test_analytics_needs_a_signed_in_caller(live: httpx.AsyncClient) -> None:
    assert (await live.get(f"{BASE}/summary")).status_code == 401


async def test_the_report_downloads_as_markdown_or_html(live: httpx.AsyncClient, viewer: Headers) -> None:
    await insert_events([{"type": "run_finished", "time": utcnow() - timedelta(hours=2), "status": "succeeded",
                          "duration_ms": 120.0}])
    answer = await live.get(f"{BASE}/report", params={"time_range": "day"}, headers=viewer)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/markdown")
    assert 'filename="analytics-report-day-' in answer.headers["content-disposition"]
    assert answer.text.startswith("# Daily analytics report") and "| Runs | 1 | 0 | — |" in answer.text
    page = await live.get(f"{BASE}/report", params={"time_range": "week", "format": "html"}, headers=viewer)
    assert page.status_code == 200 and page.text.startswith("<!doctype html>")
    assert "<h1>Weekly analytics report</h1>" in page.text
    bad = await live.get(f"{BASE}/report", params={"format": "pdf"}, headers=viewer)
    assert bad.status_code == 422 and "format" in [p["field"] for p in bad.json()["error"]["details"]]


async def test_a_viewer_subscribes_to_the_weekly_report_and_stops_it(live: httpx.AsyncClient,
                                                                      viewer: Headers) -> None:
    assert (await live.get(f"{BASE}/report-subscription", headers=viewer)).json()["frequency"] is None
    weekly = await live.put(f"{BASE}/report-subscription", json={"frequency": "weekly"}, headers=viewer)
    assert weekly.status_code == 200, weekly.text
    assert weekly.json()["frequency"] == "weekly" and weekly.json()["next_send_at"].endswith(("07:00:00Z",
                                                                                            "07:00:00+00:00"))
    assert (await live.get(f"{BASE}/report-subscription", headers=viewer)).json()["frequency"] == "weekly"
    bad = await live.put(f"{BASE}/report-subscription", json={"frequency": "hourly"}, headers=viewer)
    assert bad.status_code == 422
    off = await live.put(f"{BASE}/report-subscription", json={"frequency": "off"}, headers=viewer)
    assert off.status_code == 200 and off.json()["frequency"] is None


async def test_signed_in_api_calls_are_recorded_with_their_route_template(live: httpx.AsyncClient,
                                                                          viewer: Headers) -> None:
    from sqlmodel import select

    from models.analytics import AnalyticsEvent

    await flush_events()
    get_recorder().discard_pending()
    assert (await live.get(f"{BASE}/users/{await user_id('viewer@example.com')}/activity",
                           headers=viewer)).status_code == 200
    await flush_events()
    async with open_session() as session:
        calls = (await session.exec(select(AnalyticsEvent).where(AnalyticsEvent.type == EventType.API_CALL))).all()
    route = "/api/v3/advanced/analytics/users/{user_id}/activity"  # the full template, as /metrics labels it
    assert [(str(c.user_id), c.payload) for c in calls] == [
        (await user_id("viewer@example.com"), {"method": "GET", "route": route})]


async def test_a_private_workflow_is_left_out_of_other_members_analytics(live: httpx.AsyncClient,
                                                                        viewer: Headers) -> None:
    admin = await admin_headers(live)
    ids = {}
    for name, visibility in (("Secret merger memo", "private"), ("Open newsletter", "workspace")):
        created = await live.post("/api/v3/workflows", headers=admin, json={"name": name, "visibility": visibility})
        assert created.status_code == 201, created.text
        ids[visibility] = created.json()["id"]
    now = utcnow()
    await insert_events([{"type": EventType.RUN_FINISHED.value, "time": now - timedelta(minutes=m),
                          "status": "succeeded", "workflow_id": workflow_id, "duration_ms": 100.0}
                         for workflow_id in ids.values() for m in (5, 6)])
    by_workflow = {"metric": "runs", "bucket": "hour", "time_range": "day", "group_by": "workflow"}

    seen = await live.get(f"{BASE}/timeseries", headers=viewer, params=by_workflow)
    assert seen.status_code == 200, seen.text
    assert [line["group"] for line in seen.json()["series"]] == [str(ids["workspace"])]
    summary = await live.get(f"{BASE}/summary", headers=viewer, params={"workflow_id": ids["private"]})
    assert summary.status_code == 404 and "does not exist" in summary.json()["error"]["message"]
    assert (await live.get(f"{BASE}/report", headers=viewer, params={"workflow_id": ids["private"]})).status_code == 404
    report = await live.get(f"{BASE}/report", headers=viewer, params={"time_range": "day"})
    assert "Open newsletter" in report.text and "Secret merger memo" not in report.text
    # the workspace totals still count every run
    assert (await live.get(f"{BASE}/summary", headers=viewer)).json()["current"]["runs"] == 4

    everything = await live.get(f"{BASE}/timeseries", headers=admin, params=by_workflow)
    assert sorted(line["group"] for line in everything.json()["series"]) == sorted(str(i) for i in ids.values())
    assert "Secret merger memo" in (await live.get(f"{BASE}/report", headers=admin,
                                                   params={"time_range": "day"})).text
