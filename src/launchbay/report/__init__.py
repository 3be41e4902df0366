"""A self-contained HTML drift report: the verdict, the metric table (undefined metrics with
their reason; each feature's importance to the model once ranked by it), the non-finite counts,
the model's performance on the batch and by group, a chart per feature.

Charts are inline SVG drawn here (no plotting library, no scripts, no network), so
the file can be mailed, attached to a ticket or opened offline.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from launchbay.ownership import MARK
from launchbay.storage import write_atomic

WIDTH, HEIGHT, PAD = 420, 150, 24
REFERENCE_COLOUR, CURRENT_COLOUR = "#8aa6c1", "#e07b39"

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
h1{font-size:1.4rem} .verdict{padding:.6rem 1rem;border-radius:6px;display:inline-block}
.drift{background:#fde2d6} .ok{background:#dcefdc} .undefined{background:#fdf3c4}
table{border-collapse:collapse;margin:1rem 0} td,th{padding:.25rem .6rem;border-bottom:1px solid #ddd;text-align:left}
tr.drifted td{background:#fff1ea;font-weight:600} tr.small td{color:#888} td.num{text-align:right;font-variant-numeric:tabular-nums}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:1rem}
.card{border:1px solid #ddd;border-radius:6px;padding:.5rem} .card h3{margin:.2rem 0;font-size:1rem}
.legend span{display:inline-block;width:10px;height:10px;margin:0 .3rem 0 .8rem}
"""


def bar_chart(labels: list[str], reference: list[float], current: list[float]) -> str:
    """Side-by-side bars of reference and current shares per bin or category, as SVG."""
    n = max(len(labels), 1)
    top = max([*reference, *current, 1e-12])
    slot = (WIDTH - 2 * PAD) / n
    bars = []
    for i, (label, ref, cur) in enumerate(zip(labels, reference, current)):
        x = PAD + i * slot
        for offset, share, colour in ((0.1, ref, REFERENCE_COLOUR), (0.5, cur, CURRENT_COLOUR)):
            h = (HEIGHT - 2 * PAD) * share / top
            bars.append(
                f'<rect x="{x + offset * slot:.1f}" y="{HEIGHT - PAD - h:.1f}" width="{0.4 * slot:.1f}" '
                f'height="{h:.1f}" fill="{colour}"><title>{html.escape(label)}: '
                f"reference {ref:.1%}, current {cur:.1%}</title></rect>"
            )
    ticks = "".join(
        f'<text x="{PAD + (i + 0.5) * slot:.1f}" y="{HEIGHT - 8}" font-size="9" text-anchor="middle">'
        f"{html.escape(label[:8])}</text>"
        for i, label in enumerate(labels)
        if n <= 12 or i % (n // 12 + 1) == 0
    )
    axis = f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#999"/>'
    return f'<svg width="{WIDTH}" height="{HEIGHT}" role="img">{axis}{"".join(bars)}{ticks}</svg>'


def shares(result, feature: str) -> tuple[list[str], list[float], list[float]]:
    """Bin or category labels with the reference and current share of each."""
    ref_labels, ref_counts = result.reference.features[feature].histogram()
    cur_labels, cur_counts = result.current.features[feature].histogram()
    reference = result.reference.features[feature]
    if reference.kind == "numeric":
        edges = reference.coarse_edges
        labels = [f"<{edges[0]:.3g}", *(f"≥{e:.3g}" for e in edges)] if len(edges) else ["all"]
        ref_by, cur_by = dict(enumerate(ref_counts)), dict(enumerate(cur_counts))
        keys: list[Any] = list(range(len(labels)))
    else:
        labels = keys = list(dict.fromkeys([*ref_labels, *cur_labels]))
        ref_by, cur_by = dict(zip(ref_labels, ref_counts)), dict(zip(cur_labels, cur_counts))
    ref_total, cur_total = max(sum(ref_counts), 1), max(sum(cur_counts), 1)
    return (
        [str(label) for label in labels],
        [ref_by.get(k, 0) / ref_total for k in keys],
        [cur_by.get(k, 0) / cur_total for k in keys],
    )


def cells(texts: list[str]) -> str:
    """Numeric table cells."""
    return "".join(f'<td class="num">{html.escape(text)}</td>' for text in texts)


def multivariate_row(result) -> str:
    """The table row of a ``DriftResult``'s multivariate row (none without one)."""
    row = result.multivariate
    if row is None:
        return ""
    value = f"undefined: {html.escape(row.undefined)}" if row.undefined else f"{row.value:.4g}"
    verdict = "undefined" if row.undefined else "drift" if row.drifted else "ok"
    return (
        f'<tr class="{"drifted" if row.drifted else ""}"><td>{html.escape(row.label)}</td><td>multivariate</td>'
        f'<td>{row.metric}</td><td class="num">{value}</td><td class="num"></td>'
        f'<td class="num">[{row.lower:.4g}, {row.upper:.4g}]</td><td>{verdict}</td>{cells(result.importance_cells(None))}</tr>'
    )


def metric_rows(result) -> str:
    """The table rows of a ``DriftResult``'s ``MetricRow``s; an undefined metric shows its reason."""
    out = []
    for r in result.rows:
        p = "" if r.p_value is None or r.p_value != r.p_value else f"{r.p_value:.3g}"
        value = f"undefined: {html.escape(r.undefined)}" if r.undefined else f"{r.value:.4g}"
        verdict = "undefined" if r.undefined else "drift" if r.drifted else "ok"
        out.append(
            f'<tr class="{"drifted" if r.drifted else ""}"><td>{html.escape(str(r.feature))}</td><td>{r.kind}</td>'
            f'<td>{r.metric}</td><td class="num">{value}</td><td class="num">{p}</td>'
            f'<td class="num">{r.threshold:g}</td><td>{verdict}</td>{cells(result.importance_cells(r.feature))}</tr>'
        )
    return "".join(out)


def performance_section(assessment) -> str:
    """The HTML of a ``performance.assess.Assessment``: its verdict, the metric table, its notes."""
    from launchbay.performance.assess import observed
    from launchbay.performance.metrics import drop

    s = assessment.section
    realized, estimated = s["realized"] or {}, s["estimated"] or {}
    rows = []
    for metric in dict.fromkeys([*s["reference"], *realized, *estimated]):
        reference, value = s["reference"].get(metric), observed(s, metric)
        worse = drop(metric, reference, value) if reference is not None and value is not None else None
        cells = "".join(f'<td class="num">{"" if v is None else f"{v:.4f}"}</td>' for v in (reference, realized.get(metric), estimated.get(metric)))
        status = "dropped" if metric in s["dropped"] else "ok" if worse is not None else "not compared"
        rows.append(
            f'<tr class="{"drifted" if status == "dropped" else ""}"><td>{html.escape(metric)}</td>{cells}'
            f'<td class="num">{"" if worse is None else f"{worse:+.4f}"}</td><td class="num">{s["max_drop"].get(metric, "")}</td><td>{status}</td></tr>'
        )
    labelled = f"{s['labeled_rows']:,} labelled rows" if s["realized"] is not None else "no labels in the batch"
    verdict = {"dropped": "performance dropped: " + ", ".join(s["dropped"]), "undefined": "performance undefined"}.get(s["verdict"], "performance ok")
    css = {"dropped": "drift", "undefined": "undefined"}.get(s["verdict"], "ok")
    notes = "".join(f"<li>{html.escape(note)}</li>" for note in assessment.notes)
    return f"""<h2>Model performance</h2>
<p class="verdict {css}">{html.escape(verdict)} ({s["task"]}, {labelled})</p>
<table><tr><th>metric</th><th>reference (holdout)</th><th>realized</th><th>estimated (CBPE)</th><th>drop</th><th>max drop</th><th></th></tr>
{"".join(rows)}</table>{f"<ul>{notes}</ul>" if notes else ""}"""


def fairness_section(section: dict[str, Any]) -> str:
    """The HTML of a ``fairness`` summary section: per column its groups' rates and the gaps between them."""
    from launchbay.fairness.metrics import judged_as

    def cell(value: float | None) -> str:
        return f'<td class="num">{"" if value is None else f"{value:.4f}"}</td>'

    parts = [f"<h2>Fairness by group</h2><p>Groups of at least {section['min_rows']} rows (labelled rows, for TPR, FPR and "
             "accuracy) are judged; the gaps are between judged groups.</p>"]
    for column, found in section["columns"].items():
        rows = "".join(
            f'<tr class="{"" if g["judged"] else "small"}"><td>{html.escape(g["group"])}</td><td class="num">{g["rows"]:,}</td>'
            f'<td class="num">{g["labelled"]:,}</td>{"".join(cell(g[k]) for k in ("selection_rate", "tpr", "fpr", "accuracy"))}'
            f'<td>{judged_as(g)}</td></tr>'
            for g in found["groups"]
        )
        gaps = " · ".join(
            f"{name.replace('_', ' ')}: {'undefined' if found[name] is None else f'{found[name]:.4f}'}"
            for name in ("demographic_parity_difference", "demographic_parity_ratio", "equalized_odds_difference")
        )
        parts.append(
            f"<h3>{html.escape(column)}</h3><table><tr><th>group</th><th>rows</th><th>labelled</th><th>selection rate</th><th>TPR</th>"
            f"<th>FPR</th><th>accuracy</th><th>judged</th></tr>{rows}</table><p>{html.escape(gaps)}</p>"
        )
    if section["too_small"]:
        parts.append(f"<p>Not judged: {html.escape('; '.join(section['too_small']))}</p>")
    return "".join(parts)


def trend_link(href: str | None) -> str:
    """A paragraph linking the model's trend page (``launchbay monitor``), given its relative ``href``."""
    if not href:
        return ""
    return f'<p class="trend"><a href="{html.escape(href)}">This model over its runs</a> (the page <code>launchbay monitor</code> writes)</p>'


def write_report(result, path: Path, title: str = "Drift report", trend: str | None = None, performance=None,
                 fairness: dict[str, Any] | None = None) -> Path:
    """Write the HTML report of a ``DriftResult`` (and of a ``performance.assess.Assessment`` and a ``fairness`` section) to ``path``
    (atomically), linking the model's trend page at the relative ``trend`` when given; returns the path."""
    undefined = f", {len(result.undefined_features)} undefined" if result.undefined_features else ""
    multivariate = result.multivariate
    if multivariate is not None and multivariate.drifted:
        undefined += ", multivariate drift"
    dataset = {"drift": "dataset drift", "undefined": "dataset drift undefined"}.get(result.verdict, "no dataset drift")
    verdict = (
        f"{len(result.drifted_features)} of {len(result.features)} features drifted ({result.share_drifted:.0%}){undefined}: "
        f"{dataset} (at {result.drift_share:.0%} or more)"
    )
    notes = [result.nonfinite_note(feature) for feature in result.features]
    nonfinite = "".join(f"<li>{html.escape(note)}</li>" for note in notes if note)
    headers = "".join(f"<th>{name}</th>" for name in result.importance_columns)
    cards = []
    for feature in result.features:
        labels, reference, current = shares(result, feature)
        drifted = feature in result.drifted_features
        cards.append(
            f'<div class="card"><h3>{html.escape(feature)}{" — drift" if drifted else ""}</h3>'
            f"{bar_chart(labels, reference, current)}</div>"
        )
    body = f"""<!doctype html><!-- {MARK} --><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{STYLE}</style></head><body>
<h1>{html.escape(title)}</h1>
<p>{datetime.now(UTC):%Y-%m-%d %H:%M UTC} · reference {result.reference.rows:,} rows ·
current {result.current.rows:,} rows</p>
<p class="verdict {"ok" if result.verdict == "no drift" else result.verdict}">{verdict}</p>
{trend_link(trend)}
<table><tr><th>feature</th><th>kind</th><th>metric</th><th>value</th><th>p-value</th><th>threshold</th><th></th>{headers}</tr>
{metric_rows(result)}{multivariate_row(result)}</table>
{f"<p>{html.escape(multivariate.note())}</p>" if multivariate is not None else ""}
{f"<p>Non-finite values, reference → current:</p><ul>{nonfinite}</ul>" if nonfinite else ""}
{performance_section(performance) if performance is not None else ""}
{fairness_section(fairness) if fairness is not None else ""}
<p class="legend"><span style="background:{REFERENCE_COLOUR}"></span>reference
<span style="background:{CURRENT_COLOUR}"></span>current (share of rows per bin or category)</p>
<div class="grid">{"".join(cards)}</div></body></html>"""
    write_atomic(Path(path), body)
    return Path(path)
