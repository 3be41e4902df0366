"""A model over time: its drift, performance, fairness gaps and cost per 1,000 predictions across its last runs, as a terminal table and
one self-contained HTML page (inline SVG line charts, no scripts, no network).

Every series is one value per run with the threshold it is judged by, so a slow creep shows
before it crosses. A metric that was undefined in a run is a gap in its line (its reason in the
tooltip of a mark on the axis); a series a run did not measure is a gap too. Feature series come
in the order of the newest run's drift rows where that run ranked them by the model's importance.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from launchbay.errors import LaunchbayError
from launchbay.fairness.metrics import GAPS
from launchbay.history import Run
from launchbay.ownership import MARK
from launchbay.report import STYLE
from launchbay.report.lines import ESTIMATED, REFERENCE, THRESHOLD, VALUE, Line, line_chart
from launchbay.storage import write_atomic

if TYPE_CHECKING:
    from rich.table import Table

# A change over the runs shown smaller than this share of the threshold is no trend.
FLAT = 0.1
TREND_STYLE = """
.trend-legend span{display:inline-block;width:14px;height:3px;margin:0 .3rem 3px .8rem;vertical-align:middle}
.trend-legend span.dashed{background:repeating-linear-gradient(90deg,currentColor 0 4px,transparent 4px 7px)!important}
"""


@dataclass(frozen=True)
class Point:
    """One run's value of a series and the threshold it is judged by; ``value`` None with a
    reason in ``undefined`` when the metric could not be computed. A band (the multivariate
    row) has its ``lower`` end too, ``threshold`` its upper one."""

    value: float | None
    threshold: float | None
    crossed: bool = False
    undefined: str | None = None
    lower: float | None = None


@dataclass
class Series:
    """One value per run (None where a run did not measure it). ``below``: crossing means
    falling under the threshold (p-values, performance); otherwise reaching it."""

    name: str
    points: list[Point | None]
    below: bool = False
    reference: list[float | None] = field(default_factory=list)  # performance: the reference value per run
    importance: float | None = None  # a feature's share of the model's importance, as the newest ranked run says

    @property
    def values(self) -> list[float | None]:
        return [p.value if p else None for p in self.points]

    @property
    def thresholds(self) -> list[float | None]:
        return [p.threshold if p else None for p in self.points]

    @property
    def lowers(self) -> list[float | None]:
        return [p.lower if p else None for p in self.points]

    @property
    def band(self) -> tuple[float, float] | None:
        """The latest (lower, upper) band of a band series; None for one with a threshold."""
        return next(((p.lower, p.threshold) for p in reversed(self.points) if p and p.lower is not None and p.threshold is not None), None)

    @property
    def change(self) -> float:
        """The change over the runs shown of a least-squares line through the defined values (0 with fewer than two)."""
        import numpy as np

        known = [(i, v) for i, v in enumerate(self.values) if v is not None]
        if len(known) < 2:
            return 0.0
        x, y = np.array(known, dtype=float).T
        return float(np.polyfit(x, y, 1)[0] * (x[-1] - x[0]))

    @property
    def trend(self) -> str:
        """"rising", "falling" or "flat": whether ``change`` exceeds a tenth of the latest threshold (of a band: of its width)."""
        threshold = next((t for t in reversed(self.thresholds) if t is not None), None)
        size = self.band[1] - self.band[0] if self.band else abs(threshold) if threshold else 0.0
        scale = FLAT * size or 1e-12
        return "flat" if abs(self.change) < scale else "rising" if self.change > 0 else "falling"

    @property
    def towards_threshold(self) -> bool:
        """True when the trend heads for crossing: rising to a threshold it must stay under, falling to one it must stay
        over, or, in a band, heading for the end on the side of the band's middle the latest value lies."""
        if self.band:
            latest = next((v for v in reversed(self.values) if v is not None), None)
            middle = sum(self.band) / 2
            return latest is not None and self.trend == ("rising" if latest >= middle else "falling")
        return self.trend == ("falling" if self.below else "rising")


@dataclass
class Trend:
    """A model's last runs and the series they measured: per feature and metric, the
    multivariate drift entry, the share of drifted features, and per performance metric the
    realized and the estimated value, per fairness group column and gap its value, per price table the cost
    per 1,000 predictions of the runs priced with ``cost=``."""

    model: str
    runs: list[Run]
    features: list[Series]
    multivariate: Series | None
    share: Series
    performance: list[tuple[Series, Series]]  # (realized, estimated) per metric
    fairness: list[Series] = field(default_factory=list)
    cost: list[Series] = field(default_factory=list)

    @property
    def series(self) -> list[Series]:
        """Every series, in the order of the table (a performance series no run measured left out)."""
        pairs = [s for pair in self.performance for s in pair if any(s.points)]
        return [*self.features, *([self.multivariate] if self.multivariate else []), self.share, *pairs, *self.fairness, *self.cost]


@cache
def drifts_below(metric: str) -> bool | None:
    """Whether drift metric ``metric`` flags values below its threshold (p-values); None when no plugin provides it."""
    from launchbay.plugins import current_manager

    try:
        return current_manager().component("metric", metric).drift_when == "below"
    except LaunchbayError:
        return None


def feature_point(row: dict[str, Any]) -> tuple[Point, bool]:
    """A ``drift.metrics`` row of a summary as a point (for p-value metrics the p-value, which
    the threshold reads), and whether it drifts below its threshold."""
    below = drifts_below(row["metric"])
    below = row.get("p_value") is not None if below is None else below
    value = row.get("p_value") if below else row.get("value")
    return measured(value, row.get("threshold"), bool(row.get("drifted")), row.get("undefined")), below


def multivariate_point(entry: dict[str, Any]) -> Point:
    """A summary's ``drift.multivariate`` entry as a point in its band [lower, upper], crossed as the run decided (``drifted``)."""
    return measured(entry["value"], entry["upper"], bool(entry["drifted"]), entry["undefined"], float(entry["lower"]))


def share_point(drift: dict[str, Any]) -> Point:
    """The share of drifted features of a summary's ``drift`` section, crossed when it reaches ``drift_share``
    (the dataset may drift for its multivariate row alone: that is the multivariate series' crossing)."""
    share, limit = float(drift["share_drifted"]), float(drift["drift_share"])
    return Point(share, limit, share >= limit)


def measured(value: float | None, threshold: float | None, crossed: bool, undefined: str | None, lower: float | None = None) -> Point:
    """A point; a value that is missing (JSON has no NaN) without a stated reason is undefined as not finite."""
    threshold = None if threshold is None else float(threshold)
    if value is None or undefined:
        return Point(None, threshold, crossed, undefined or "not finite", lower)
    return Point(float(value), threshold, crossed, None, lower)


def build(runs: list[Run], model: str, last: int) -> Trend:
    """The trend of ``model`` over the last ``last`` of ``runs`` (oldest first) that scored with it."""
    chosen = [run for run in runs if run.model == model][-last:]
    if not chosen:
        models = ", ".join(sorted({run.model for run in runs if run.model})) or "none"
        raise LaunchbayError(f"monitor: no run of model '{model}' (models with runs: {models})")
    n = len(chosen)
    features: dict[tuple[str, str], Series] = {}
    multivariate = Series("multivariate", [None] * n)
    share = Series("share of drifted features", [None] * n)
    performance: dict[str, tuple[Series, Series]] = {}
    fairness: dict[tuple[str, str], Series] = {}
    costs: dict[tuple[str, str], Series] = {}
    for i, run in enumerate(chosen):
        try:
            drift = run.summary.get("drift") or {}
            for row in drift.get("metrics", []):
                point, below = feature_point(row)
                name = f"{row['feature']} · {row['metric']}"
                features.setdefault((row["feature"], row["metric"]), Series(name, [None] * n, below)).points[i] = point
            if entry := drift.get("multivariate"):
                multivariate.name = f"multivariate · {entry['metric']}"
                multivariate.points[i] = multivariate_point(entry)
            if "share_drifted" in drift:
                share.points[i] = share_point(drift)
            if section := run.summary.get("performance"):
                add_performance(performance, section, i, n)
            for column, found in ((run.summary.get("fairness") or {}).get("columns") or {}).items():
                for gap in GAPS:
                    series = fairness.setdefault((column, gap), Series(f"{column} · {gap.replace('_', ' ')}", [None] * n))
                    series.points[i] = measured(found[gap], None, False, None if found[gap] is not None else "fewer than two judged groups")
            if (priced := run.summary.get("cost") or {}).get("per_1000_predictions") is not None:
                prices = (priced["provider"], priced["currency"])
                series = costs.setdefault(prices, Series(f"cost per 1,000 predictions · {', '.join(prices)}", [None] * n))
                series.points[i] = Point(float(priced["per_1000_predictions"]), None)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            entry = "a drift, performance, fairness or cost entry"
            raise LaunchbayError(f"monitor: {run.folder / 'summary.json'}: {entry} reads wrong ({type(exc).__name__}: {exc})") from exc
    newest = ranked_rows(chosen)
    order = {(row["feature"], row["metric"]): i for i, row in enumerate(newest)}
    shares = {row["feature"]: row["importance"] for row in newest}
    for (feature, _), series in features.items():
        series.importance = shares.get(feature)
    return Trend(
        model,
        chosen,
        [features[key] for key in sorted(features, key=lambda key: order.get(key, len(order)))],
        multivariate if any(multivariate.points) else None,
        share,
        list(performance.values()),
        list(fairness.values()),
        list(costs.values()),
    )


def ranked_rows(runs: list[Run]) -> list[dict[str, Any]]:
    """The drift rows of the newest run that checked drift, where it ranked them by importance (``DriftResult.ranked``); else none."""
    checked = [rows for run in runs if (rows := (run.summary.get("drift") or {}).get("metrics"))]
    return checked[-1] if checked and any("importance" in row for row in checked[-1]) else []


def add_performance(performance: dict[str, tuple[Series, Series]], section: dict[str, Any], i: int, n: int) -> None:
    """Add run ``i``'s ``performance`` section: per metric, the realized and the estimated value, each judged
    against its alert line, the reference less ``max_drop`` (lower-is-better metrics: plus). The value the run
    judged by (realized, else estimated) is crossed as the run decided (``dropped``); the other by the same rule."""
    from launchbay.performance.metrics import LOWER_IS_BETTER, drop

    reference, max_drop, dropped = section["reference"], section["max_drop"], set(section["dropped"])
    realized, estimated = section["realized"] or {}, section["estimated"] or {}
    for metric in dict.fromkeys([*reference, *realized, *estimated]):
        ref, limit = reference.get(metric), max_drop.get(metric)
        line = None if ref is None or limit is None else ref + limit if metric in LOWER_IS_BETTER else ref - limit
        below = metric not in LOWER_IS_BETTER
        pair = performance.setdefault(
            metric, (Series(f"{metric} · realized", [None] * n, below, [None] * n), Series(f"{metric} · estimated", [None] * n, below, [None] * n))
        )
        judged_by = realized if realized.get(metric) is not None else estimated  # as performance.assess.observed
        for series, values in zip(pair, (realized, estimated)):
            series.reference[i] = ref
            if metric in values:
                value = values[metric]
                if values is judged_by:
                    crossed = metric in dropped
                else:
                    crossed = value is not None and ref is not None and limit is not None and drop(metric, ref, value) > limit
                series.points[i] = measured(value, line, crossed, None)


def started(run: Run) -> str:
    """When a run started, local time to the second."""
    return f"{datetime.fromtimestamp(run.started):%Y-%m-%d %H:%M:%S}"


def table(trend: Trend) -> Table:
    """A rich table: one row per series, one column per run, crossed values in bold red with a
    "!", undefined ones in yellow, a trend arrow (red when heading for its threshold) and, once
    ranked, each feature's share of the model's importance."""
    from rich.table import Table

    out = Table(
        title=f"{trend.model} over its last {len(trend.runs)} run(s)",
        caption="! crossed its threshold · ↑ ↓ → trend over the runs shown (red: towards the threshold) · columns: the runs, oldest first",
        caption_justify="left",
    )
    out.add_column("series", overflow="fold")
    out.add_column("threshold", justify="right")
    for i, run in enumerate(trend.runs, 1):
        out.add_column(f"#{i} {started(run)[5:10]}\n{started(run)[11:]}", justify="right")
    out.add_column("trend", justify="center")
    ranked = any(series.importance is not None for series in trend.features)
    if ranked:
        out.add_column("importance", justify="right")
    for series in trend.series:
        threshold = next((t for t in reversed(series.thresholds) if t is not None), None)
        arrow = {"rising": "↑", "falling": "↓", "flat": "→"}[series.trend]
        colour = "red" if series.towards_threshold else "green" if series.trend != "flat" else "dim"
        if series.band:
            limit = f"[{series.band[0]:.3g}, {series.band[1]:.3g}]"
        else:
            limit = "" if threshold is None else f"{'<' if series.below else '≥'} {threshold:.3g}"
        out.add_row(
            series.name,
            limit,
            *(cell(point) for point in series.points),
            f"[{colour}]{arrow}[/]",
            *([percent(series.importance)] if ranked else []),
        )
    return out


def percent(importance: float | None) -> str:
    """A feature's share of the model's importance, as a percentage (blank for other series)."""
    return "" if importance is None else f"{importance:.1%}"


def cell(point: Point | None) -> str:
    if point is None:
        return ""
    if point.value is None:
        return "[yellow]undefined[/]"
    return f"[bold red]{point.value:.3g} ![/]" if point.crossed else f"{point.value:.3g}"


def card(title: str, lines: list[Line], runs: int, from_zero: bool, crossed: bool = False, note: str = "") -> str:
    """A chart with its title, a ``note`` under it, and its legend."""
    legend = "".join(
        f'<span class="{"dashed" if line.dashed else ""}" style="background:{line.colour};color:{line.colour}"></span>{html.escape(line.label)}'
        for line in lines
    )
    return (
        f'<div class="card"><h3>{html.escape(title)}{" — crossed" if crossed else ""}</h3>{f"<p>{html.escape(note)}</p>" if note else ""}'
        f'{line_chart(lines, runs, from_zero)}<div class="trend-legend">{legend}</div></div>'
    )


def series_card(series: Series, runs: int) -> str:
    """A series' chart: its values and its threshold, or both ends of its band; a ranked feature's share of the importance."""
    lines = [
        Line(series.name.split(" · ")[-1], VALUE, series.values, crossed=[bool(p and p.crossed) for p in series.points],
             undefined=[p.undefined if p else None for p in series.points]),
    ]
    if series.band:
        lines += [Line("band: upper", THRESHOLD, series.thresholds, dashed=True), Line("band: lower (drift outside)", THRESHOLD, series.lowers, dashed=True)]
    else:
        lines.append(Line(f"threshold ({'drift below' if series.below else 'drift at or above'})", THRESHOLD, series.thresholds, dashed=True))
    note = f"importance: {percent(series.importance)} of the model's" if series.importance is not None else ""
    return card(series.name, lines, runs, True, crossed=bool(series.points[-1] and series.points[-1].crossed), note=note)


def performance_card(realized: Series, estimated: Series, runs: int) -> str:
    """A performance metric's chart: realized and estimated, the reference and its alert line, the reference less
    max_drop (lower-is-better metrics: plus)."""
    lines = [
        Line("realized", VALUE, realized.values, crossed=[bool(p and p.crossed) for p in realized.points]),
        Line("estimated", ESTIMATED, estimated.values, crossed=[bool(p and p.crossed) for p in estimated.points]),
        Line("reference", REFERENCE, realized.reference, dashed=True),
        Line(f"reference {'−' if realized.below else '+'} max_drop", THRESHOLD,
             [r if r is not None else e for r, e in zip(realized.thresholds, estimated.thresholds)], dashed=True),
    ]
    return card(realized.name.split(" · ")[0], lines, runs, False)


def run_rows(trend: Trend, page: Path) -> str:
    """The table rows of the runs: number, id, time, version, rows, verdicts, a relative link to its report."""
    rows = []
    for i, run in enumerate(trend.runs, 1):
        s = run.summary
        drift = s.get("drift") or {}
        verdict = drift.get("verdict", "")
        if drift.get("drifted_features"):
            verdict += f" ({len(drift['drifted_features'])}/{drift.get('features', '?')} drifted)"
        if (drift.get("multivariate") or {}).get("drifted"):
            verdict += ", multivariate"
        performance = (s.get("performance") or {}).get("verdict", "")
        report = run.folder / "report.html"
        link = f'<a href="{quote(Path(os.path.relpath(report, page.parent)).as_posix())}">report</a>' if report.exists() else ""
        rows.append(
            f'<tr class="{"drifted" if drift.get("dataset_drift") else ""}"><td class="num">{i}</td><td>{html.escape(str(s.get("run_id", "")))}</td>'
            f"<td>{started(run)}</td><td class=\"num\">v{html.escape(str((s.get('model') or {}).get('version', '')))}</td>"
            f'<td class="num">{(s.get("scores") or {}).get("rows", drift.get("current_rows", 0)):,}</td><td>{html.escape(verdict)}</td>'
            f"<td>{html.escape(performance)}</td>"
            f"<td>{link}</td></tr>"
        )
    return "".join(rows)


def write_page(trend: Trend, path: Path) -> Path:
    """Write the trend page of ``trend`` to ``path`` (atomically); returns the path."""
    path = Path(path)
    runs = len(trend.runs)
    perf = "".join(performance_card(realized, estimated, runs) for realized, estimated in trend.performance)
    multivariate = series_card(trend.multivariate, runs) if trend.multivariate else ""
    features = "".join(series_card(series, runs) for series in trend.features)
    fairness = "".join(series_card(series, runs) for series in trend.fairness)
    cost = "".join(card(s.name, [Line(s.name.split(" · ")[-1], VALUE, s.values)], runs, True) for s in trend.cost)
    body = f"""<!doctype html><!-- {MARK} --><html><head><meta charset="utf-8"><title>{html.escape(trend.model)} over time</title>
<style>{STYLE}{TREND_STYLE}</style></head><body>
<h1>Model {html.escape(trend.model)} over its last {runs} run(s)</h1>
<p>{started(trend.runs[0])} → {started(trend.runs[-1])} · each chart: a value per run (1 = oldest), its threshold dashed;
a ring marks a value that crossed it, a gap a run that did not measure it, a ? one where it was undefined.</p>
<table id="runs"><tr><th>#</th><th>run</th><th>started</th><th>version</th><th>rows</th><th>drift</th><th>performance</th><th></th></tr>
{run_rows(trend, path)}</table>
<h2>Share of drifted features</h2><div class="grid">{series_card(trend.share, runs)}</div>
{f'<h2>Performance</h2><div class="grid">{perf}</div>' if perf else ""}
{f'<h2>Multivariate drift</h2><div class="grid">{multivariate}</div>' if multivariate else ""}
{f'<h2>Fairness gaps between groups</h2><div class="grid">{fairness}</div>' if fairness else ""}
{f'<h2>Cost per 1,000 predictions</h2><div class="grid">{cost}</div>' if cost else ""}
<h2>Drift per feature</h2><div class="grid">{features}</div></body></html>"""
    write_atomic(path, body)
    return path
