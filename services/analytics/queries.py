"""Aggregations over ``analytics_events``, computed by the database: the one import for callers.

The pieces live by responsibility: ``metrics`` (the metric table), ``sources`` (reading the rollups,
percentiles), ``summary`` and ``series`` (the builders), ``activity`` (a user's activity, grouped totals
and the export).

One builder serves PostgreSQL and SQLite: buckets come from ``windows.bucket_key`` (``date_trunc``
or ``strftime``), percentiles from ``percentile_cont`` on PostgreSQL and from window functions
(``row_number``/``count`` over the ordered values) on SQLite, with the same linear interpolation.
Every query filters on ``type`` and a ``time`` range, which the ``(type, time)`` index answers.

``summary`` and ``timeseries`` read the hourly rollups (``rollup.py``) for the whole UTC hours of a
window (the daily ones for its whole days, when buckets are days or weeks) and the raw events only
for the partial hours at its edges (one ``UNION ALL``), so their cost grows with the number of
hours, not of events. Counts and sums are exact. Distinct users come from
the per-day and per-hour presence tables, exact as well. The summary's p50/p95 duration comes from
the rollup's log-scale histogram: each order statistic is estimated by the mean of its bucket, so
it is exact when the value sits alone in its bucket (or the bucket holds equal values) and never
off by a factor of ``rollup.BUCKET_RATIO`` (2^(1/8): 9.05 %) or more (below 1 ms: by less than
1 ms); a window without a whole hour uses the raw values, exactly. What the rollups do not hold
(grouping by user; distinct users, or percentiles, of one workflow) is read from the raw events.
"""

from __future__ import annotations

from services.analytics.activity import EXPORT_COLUMNS, UserActivity, export_rows, grouped, user_activity
from services.analytics.metrics import (
    EVENTS,
    FAILED_DELIVERY,
    GROUP_COLUMNS,
    METRICS,
    E,
    GroupBy,
    Metric,
    MetricSpec,
)
from services.analytics.series import Point, Series, TimeSeries, timeseries
from services.analytics.sources import percentiles
from services.analytics.summary import Summary, Totals, summary

__all__ = ["EVENTS", "EXPORT_COLUMNS", "FAILED_DELIVERY", "GROUP_COLUMNS", "METRICS", "E", "GroupBy", "Metric",
           "MetricSpec", "Point", "Series", "Summary", "TimeSeries", "Totals", "UserActivity", "export_rows",
           "grouped", "percentiles", "summary", "timeseries", "user_activity"]
