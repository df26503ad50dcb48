"""Plotly figures and KPI cards built from the analytics service's answers (pure functions, no I/O).

The figures carry no template and a transparent background: ``rx.plotly`` applies the ``plotly`` or
``plotly_dark`` template with the colour mode, so the charts follow the light/dark switch. Status
colours are the same in both modes (mid-tone green, red, grey read on either background).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from services.analytics.breakdowns import WEEKDAYS, DeliveryCount, DurationBin, WorkflowRate
from services.analytics.insights import Insight
from services.analytics.series import TimeSeries
from services.analytics.summary import Summary

CHART_HEIGHT = 280
GRID = "rgba(128, 128, 128, 0.25)"
STATUS_COLOURS = {"succeeded": "#30a46c", "failed": "#e5484d", "cancelled": "#8b8d98", "sent": "#30a46c",
                  "dead": "#e5484d", "queued": "#f5a524", "waiting": "#8e4ec6"}
# From a faint wash of the accent blue (reads as "nobody" on white and on near-black) to the full colour.
HEAT_SCALE = [[0.0, "rgba(62, 99, 221, 0.06)"], [1.0, "rgba(62, 99, 221, 1)"]]
SEVERITY_COLOURS = {"critical": "red", "warning": "amber", "info": "blue"}


@dataclass
class KpiCard:
    label: str
    value: str
    change: str  # "+25 % vs previous period", or "" when there is nothing to compare with
    tone: str  # Radix colour of the change: green (better), red (worse), gray (neutral)


@dataclass
class InsightView:
    title: str
    message: str
    severity: str
    colour: str
    numbers: str


def _layout(figure: go.Figure, *, y_title: str = "", legend: bool = True, barmode: str | None = None,
            over_time: bool = False) -> go.Figure:
    figure.update_layout(height=CHART_HEIGHT, autosize=True, margin={"l": 48, "r": 12, "t": 8, "b": 40},
                         paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)", showlegend=legend,
                         legend={"orientation": "h", "y": -0.2}, hovermode="x unified" if over_time else "closest",
                         yaxis_title=y_title, font={"size": 12})
    # grid lines that read on white and on near-black alike (the templates' own vanish on a transparent plot)
    figure.update_xaxes(gridcolor=GRID, zerolinecolor=GRID)
    figure.update_yaxes(gridcolor=GRID, zerolinecolor=GRID)
    if barmode:
        figure.update_layout(barmode=barmode)
    figure.layout.template = go.layout.Template()  # none of plotly's default: rx.plotly sets the theme's
    return figure


def _has_values(series: TimeSeries) -> bool:
    return any(point.value for s in series.series for point in s.points)


def runs_by_status(series: TimeSeries) -> go.Figure | None:
    """Stacked bars of finished runs per bucket and status; None when there were none."""
    if not _has_values(series):
        return None
    figure = go.Figure()
    for s in series.series:
        status = s.group or "unknown"
        figure.add_bar(x=[p.bucket for p in s.points], y=[p.value for p in s.points], name=status,
                       marker_color=STATUS_COLOURS.get(status),
                       hovertemplate=f"{status}: %{{y:.0f}} runs<extra></extra>")
    return _layout(figure, y_title="runs", barmode="stack", over_time=True)


def duration_histogram(bins: Sequence[DurationBin]) -> go.Figure | None:
    if not bins:
        return None
    figure = go.Figure(go.Bar(x=[b.label for b in bins], y=[b.count for b in bins], marker_color="#3e63dd",
                              hovertemplate="%{x}: %{y} runs<extra></extra>"))
    return _layout(figure, y_title="runs", legend=False)


def success_rates(rates: Sequence[WorkflowRate]) -> go.Figure | None:
    """Horizontal bars of each workflow's success rate, busiest workflow on top."""
    rated = [r for r in rates if r.success_rate is not None]
    if not rated:
        return None
    rated.reverse()
    figure = go.Figure(go.Bar(
        x=[r.success_rate for r in rated], y=[r.name for r in rated], orientation="h",
        marker_color=[STATUS_COLOURS["succeeded"] if (r.success_rate or 0) >= 0.9 else "#f5a524"
                      if (r.success_rate or 0) >= 0.7 else STATUS_COLOURS["failed"] for r in rated],
        text=[f"{r.success_rate:.0%} of {r.runs}" for r in rated], cliponaxis=False,
        textposition=["outside" if (r.success_rate or 0) < 0.5 else "inside" for r in rated],
        customdata=[[r.runs, r.succeeded, r.failed] for r in rated],
        hovertemplate="%{y}: %{x:.0%} (%{customdata[1]} of %{customdata[0]} runs; %{customdata[2]} failed)"
                      "<extra></extra>"))
    figure.update_xaxes(tickformat=".0%", range=[0, 1.02], dtick=0.25)
    figure.update_yaxes(automargin=True)
    return _layout(figure, legend=False)


def lines_by_group(series: TimeSeries, *, unit: str, value_format: str = ",.0f") -> go.Figure | None:
    """One line per group (provider, model...) over the buckets; None when every value is 0."""
    if not _has_values(series):
        return None
    figure = go.Figure()
    for s in series.series:
        name = s.group or "unknown"
        figure.add_scatter(x=[p.bucket for p in s.points], y=[p.value for p in s.points], name=name,
                           mode="lines+markers", stackgroup="one",
                           hovertemplate=f"{name}: %{{y:{value_format}}} {unit}<extra></extra>")
    return _layout(figure, y_title=unit, over_time=True)


def deliveries(counts: Sequence[DeliveryCount]) -> go.Figure | None:
    """Grouped bars: delivery attempts per channel, one bar per outcome."""
    if not counts:
        return None
    channels = sorted({c.channel for c in counts})
    figure = go.Figure()
    for status in sorted({c.status for c in counts}):
        by_channel = {c.channel: c.count for c in counts if c.status == status}
        figure.add_bar(x=channels, y=[by_channel.get(ch, 0) for ch in channels], name=status,
                       marker_color=STATUS_COLOURS.get(status),
                       hovertemplate=f"%{{x}} {status}: %{{y}}<extra></extra>")
    return _layout(figure, y_title="attempts", barmode="group")


def activity_heatmap(grid: Sequence[Sequence[int]]) -> go.Figure | None:
    """Distinct active users per weekday (rows) and UTC hour (columns)."""
    if not grid:
        return None
    figure = go.Figure(go.Heatmap(z=[list(row) for row in grid], x=[f"{h:02d}:00" for h in range(24)],
                                  y=list(WEEKDAYS), colorscale=HEAT_SCALE, hoverongaps=False, xgap=1, ygap=1,
                                  hovertemplate="%{y} %{x} UTC: %{z} active users<extra></extra>"))
    figure.update_yaxes(autorange="reversed")
    return _layout(figure, legend=False)


# --- KPI cards and insights ---------------------------------------------------------------------------------

def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f} ms" if value < 1000 else f"{value / 1000:,.1f} s"


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


# (label, field, format, which direction is better: 1 up, -1 down, 0 neither)
_KPIS: tuple[tuple[str, str, Callable[[Any], str], int], ...] = (
    ("Runs", "runs", lambda v: f"{v:,}", 0),
    ("Success rate", "success_rate", _rate, 1),
    ("p95 duration", "duration_p95_ms", _ms, -1),
    ("AI tokens", "ai_tokens", lambda v: f"{v:,}", 0),
    ("AI cost", "ai_cost_usd", lambda v: f"${v:,.2f}", -1),
    ("Notifications sent", "notifications_sent", lambda v: f"{v:,}", 0),
    ("Failed deliveries", "notifications_failed", lambda v: f"{v:,}", -1),
    ("Active users", "active_users", lambda v: f"{v:,}", 0),
)


def kpi_cards(result: Summary) -> list[KpiCard]:
    """One card per headline figure, with its change against the previous period of the same length."""
    cards = []
    for label, name, show, better in _KPIS:
        value = getattr(result.current, name)
        change = result.change.get(name)
        tone = "gray"
        if change is not None and better and abs(change) >= 0.005:
            tone = "green" if change * better > 0 else "red"
        before = getattr(result.previous, name)
        if change is not None:
            text = f"{change:+.0%} vs previous period"
        elif before in (0, 0.0) and value:
            text = "up from 0 in the previous period"
        elif before in (0, 0.0):
            text = "0 in the previous period too"
        else:
            text = ""
        cards.append(KpiCard(label=label, value="—" if value is None else show(value), change=text, tone=tone))
    return cards


def insight_views(found: Sequence[Insight]) -> list[InsightView]:
    def number(value: float | int | str | None) -> str:
        return f"{value:,.4g}" if isinstance(value, float) else str(value)

    return [InsightView(title=i.title, message=i.message, severity=i.severity,
                        colour=SEVERITY_COLOURS.get(i.severity, "gray"),
                        numbers=" · ".join(f"{k.replace('_', ' ')}: {number(v)}" for k, v in i.numbers.items()
                                           if v is not None))
            for i in found]
