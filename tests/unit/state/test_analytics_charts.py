"""Figures and KPI cards from the analytics service's answers: empty data gives no chart, changes get a tone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.analytics.breakdowns import DeliveryCount, DurationBin, WorkflowRate
from services.analytics.insights import Insight
from services.analytics.series import Point, Series, TimeSeries
from services.analytics.summary import Summary, Totals
from state import analytics_charts as charts

START = datetime(2026, 11, 23, tzinfo=UTC)


def series(groups: dict[str | None, list[float]]) -> TimeSeries:
    return TimeSeries(metric="runs", bucket="day", group_by="status", start=START, end=START + timedelta(days=2),
                      series=[Series(group=g, total=sum(v), points=[Point(bucket=START + timedelta(days=i), value=x)
                                                                   for i, x in enumerate(v)])
                              for g, v in groups.items()])


def test_no_data_means_no_figure() -> None:
    assert charts.runs_by_status(series({})) is None
    assert charts.runs_by_status(series({"succeeded": [0.0, 0.0]})) is None
    assert charts.lines_by_group(series({"openai": [0.0, 0.0]}), unit="USD") is None
    assert charts.duration_histogram([]) is None and charts.deliveries([]) is None
    assert charts.activity_heatmap([]) is None
    assert charts.success_rates([WorkflowRate(workflow_id=1, name="w", runs=1, succeeded=0, failed=0,
                                              success_rate=None)]) is None


def test_figures_carry_the_data_with_status_colours_and_no_template() -> None:
    runs = charts.runs_by_status(series({"succeeded": [3.0, 1.0], "failed": [0.0, 2.0]}))
    assert runs is not None
    assert [(t.name, list(t.y), t.marker.color) for t in runs.data] == [
        ("succeeded", [3.0, 1.0], "#30a46c"), ("failed", [0.0, 2.0], "#e5484d")]
    assert runs.layout.barmode == "stack" and runs.layout.paper_bgcolor == "rgba(0,0,0,0)"
    assert "layout" not in runs.layout.template.to_plotly_json()  # rx.plotly applies the light or dark one
    rates = charts.success_rates([WorkflowRate(workflow_id=1, name="Busy", runs=4, succeeded=3, failed=1,
                                               success_rate=0.75),
                                  WorkflowRate(workflow_id=2, name="Calm", runs=1, succeeded=1, failed=0,
                                               success_rate=1.0)])
    assert rates is not None and list(rates.data[0].y) == ["Calm", "Busy"]  # the busiest on top
    assert list(rates.data[0].text) == ["100% of 1", "75% of 4"]
    grid = [[0] * 24 for _ in range(7)]
    grid[2][9] = 4
    heat = charts.activity_heatmap(grid)
    assert heat is not None and heat.data[0].z[2][9] == 4 and list(heat.data[0].y)[2] == "Wed"
    bars = charts.deliveries([DeliveryCount(channel="email", status="sent", count=5),
                              DeliveryCount(channel="slack", status="dead", count=1)])
    assert bars is not None and [(t.name, list(t.x), list(t.y)) for t in bars.data] == [
        ("dead", ["email", "slack"], [0, 1]), ("sent", ["email", "slack"], [5, 0])]
    durations = charts.duration_histogram([DurationBin(label="< 100 ms", count=2)])
    assert durations is not None and list(durations.data[0].y) == [2]


def test_kpi_cards_show_the_change_and_whether_it_is_better() -> None:
    now = Totals(runs=10, runs_succeeded=9, success_rate=0.9, duration_p95_ms=1500.0, ai_cost_usd=2.0,
                 notifications_failed=3)
    before = Totals(runs=5, runs_succeeded=5, success_rate=1.0, duration_p95_ms=1000.0, ai_cost_usd=2.0)
    change = {"runs": 1.0, "success_rate": -0.1, "duration_p95_ms": 0.5, "ai_cost_usd": 0.0}
    cards = {c.label: c for c in charts.kpi_cards(Summary(start=START, end=START, current=now, previous=before,
                                                          change=change))}
    assert (cards["Runs"].value, cards["Runs"].change, cards["Runs"].tone) == ("10", "+100% vs previous period",
                                                                               "gray")
    assert (cards["Success rate"].value, cards["Success rate"].tone) == ("90%", "red")
    assert (cards["p95 duration"].value, cards["p95 duration"].tone) == ("1.5 s", "red")
    assert (cards["AI cost"].value, cards["AI cost"].tone) == ("$2.00", "gray")
    assert cards["Failed deliveries"].change == "up from 0 in the previous period"
    assert cards["AI tokens"].change == "0 in the previous period too"


def test_insights_read_as_sentences_with_their_numbers() -> None:
    found = [Insight(kind="idle", severity="warning", title="Idle workflow", message="No runs for 7 days.",
                     subject="w", numbers={"runs_30d": 12, "last_run_days_ago": 8.5, "note": None})]
    [view] = charts.insight_views(found)
    assert (view.colour, view.numbers) == ("amber", "runs 30d: 12 · last run days ago: 8.5")
