"""A model card for one registered version (Model Cards, Mitchell et al. 2019): its details, intended
use, training data and contract, metrics and calibration, fairness by group, feature importance,
lineage, approval record and known limits, as Markdown and as a self-contained HTML page.

``build`` reads what the registry keeps about a version into sections of formatted tables, and one
Jinja2 template per format (package data, ``launchbay/templates/card``) lays them out. The page's
charts are inline SVG drawn here, as the drift report's are: no scripts, no network.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from launchbay.ownership import MARK
from launchbay.report import STYLE
from launchbay.report.lines import REFERENCE, VALUE
from launchbay.storage import write_atomic

if TYPE_CHECKING:
    from jinja2 import Environment

    from launchbay.approvals import Candidacy
    from launchbay.audit import Problem
    from launchbay.performance.cbpe import Calibration
    from launchbay.registry import ModelVersion, Registry

# The raw scores at which the card tabulates the calibrated probability.
CURVE_AT = tuple(i / 10 for i in range(11))
# A group's rates and the gaps between a column's groups, as fairness measures them.
RATES = ("selection_rate", "tpr", "fpr", "accuracy")
GAPS = ("demographic_parity_difference", "demographic_parity_ratio", "equalized_odds_difference")
# Charts: the calibration's square, the importance bars' width, row height and room for the feature names.
SIZE, MARGIN, BARS_WIDTH, BAR, NAMES = 260, 34, 440, 20, 120
# What a contract's policy does with a row that breaks an enforced check.
POLICIES = {"fail": "stops the run", "quarantine": "is set aside (quarantined) and the rest scored"}
CARD_STYLE = "td{font-variant-numeric:tabular-nums}"


@dataclass(frozen=True)
class Table:
    """A table of the card: column headers, rows of formatted cells, and a caption and paragraph above them."""

    headers: tuple[str, ...]
    rows: list[tuple[str, ...]]
    caption: str = ""
    note: str = ""


@dataclass
class Section:
    """One section of the card: a one-line gist (the terminal's summary), paragraphs, tables, charts
    (title and SVG: the page only) and a list."""

    title: str
    gist: str
    notes: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[tuple[str, str]] = field(default_factory=list)
    items: list[str] = field(default_factory=list)


@dataclass
class Card:
    """The card of version ``version`` of model ``name``, read from ``registry`` at ``generated``."""

    name: str
    version: int
    registry: str
    generated: str
    sections: list[Section]

    def files(self, folder: Path) -> tuple[Path, Path]:
        """Where the card goes in ``folder``: ``<model>-v<version>-card.md`` and ``.html``."""
        stem = f"{self.name}-v{self.version}-card"
        return folder / f"{stem}.md", folder / f"{stem}.html"


def undefined(value: Any) -> bool:
    """Whether a measured value is missing (JSON has no NaN) or not finite."""
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def number(value: Any) -> str:
    """A measured value as the card shows it: floats to 4 decimals, counts with thousands separators,
    an undefined one as such."""
    if undefined(value):
        return "undefined"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def optional(value: Any) -> str:
    """A value that may not apply (a contract's range, a decision's champion): blank when absent."""
    return "" if value is None else number(value)


def recorded(value: Any, missing: str = "not recorded") -> str:
    return missing if value is None or value == "" else str(value)


def fields(*pairs: tuple[str, Any]) -> Table:
    """A two-column table of named values."""
    return Table(("field", "value"), [(name, str(value)) for name, value in pairs])


def details(meta: dict[str, Any], aliases: list[str]) -> Section:
    family, owner = recorded(meta.get("family")), recorded(meta.get("owner"), "not stated")
    table = fields(
        ("name", meta["name"]), ("version", meta["version"]), ("family", family), ("registered at", recorded(meta.get("registered_at"))),
        ("sha256 of model.pkl", meta["sha256"]), ("owner", owner), ("aliases", ", ".join(aliases) or "none"), ("label", recorded(meta.get("label"))),
        ("features", ", ".join(meta.get("features", [])) or "not recorded"),
    )
    return Section("Model details", f"{family}; aliases: {', '.join(aliases) or 'none'}; owner: {owner}", tables=[table])


def intended_use(meta: dict[str, Any]) -> Section:
    description = recorded(meta.get("description"), "not stated")
    return Section("Intended use", description, notes=[description])


def training_data(meta: dict[str, Any], contract: Any) -> Section:
    """The training rows' source, size and content hash, and the contract batches are checked against."""
    data = meta.get("data") or {}
    rows = f"{number(data.get('rows'))} rows ({number(meta.get('train_rows'))} to train, {number(meta.get('holdout_rows'))} holdout)"
    table = fields(
        ("source", recorded(data.get("source"))), ("rows", number(data.get("rows"))),
        ("content hash (sha256 of the rows, column names and types)", recorded(data.get("fingerprint"))),
        ("train rows", number(meta.get("train_rows"))), ("holdout rows", number(meta.get("holdout_rows"))),
    )
    section = Section("Training data", f"{recorded(data.get('source'))}: {rows}", tables=[table])
    if contract is None:
        section.notes.append("No data contract was stored with this version: batches are not checked against one.")
        return section
    policy, enforced = contract.policy.value, ", ".join(contract.enforce) or "none"
    note = (f"Every batch is checked against these columns (policy {policy}, enforce {enforced}): a row that breaks an enforced "
            f"check {POLICIES.get(policy, policy)}.")
    if contract.groups:
        note += f" Groups (not features: fairness compares outcomes across them): {', '.join(contract.groups)}."
    section.tables.append(Table(
        ("column", "kind", "nullable", "min", "max", "categories"),
        [(c.name, c.kind, number(c.nullable), optional(c.min), optional(c.max), ", ".join(c.categories or [])) for c in contract.columns],
        "Contract",
        note,
    ))
    return section


def metrics(meta: dict[str, Any]) -> Section:
    values, holdout = meta.get("metrics") or {}, number(meta.get("holdout_rows"))
    gist = ", ".join(f"{metric} {number(value)}" for metric, value in values.items()) or "none recorded"
    section = Section("Metrics", f"{gist} on {holdout} holdout rows")
    if not values:
        section.notes.append("No metrics were recorded.")
        return section
    section.notes.append(f"Measured on the {holdout} holdout rows the model was not trained on.")
    section.tables.append(Table(("metric", "value"), [(metric, number(value)) for metric, value in values.items()]))
    return section


def calibration(record: dict[str, Any] | None) -> Section:
    """The score calibration (``performance.cbpe.Calibration``): its method, a table of its curve and the curve's chart."""
    import numpy as np

    from launchbay.performance.cbpe import Calibration

    if record is None:
        return Section("Calibration", "none", notes=[
            "None was stored: the model is not a binary classifier, or its holdout lacked a class."
        ])
    curve = Calibration.from_dict(record)
    at = curve(np.array(CURVE_AT))
    return Section(
        "Calibration",
        f"{curve.method}, fitted on {curve.rows:,} holdout rows",
        notes=[f"The probability that a row is positive given its raw score ({curve.method}, fitted on {curve.rows:,} holdout rows); "
               "scoring estimates performance without labels (CBPE) from it."],
        tables=[Table(("raw score", "calibrated probability"), [(f"{s:.1f}", number(float(p))) for s, p in zip(CURVE_AT, at)])],
        charts=[("Calibrated probability against raw score", calibration_chart(curve))],
    )


def fairness(record: dict[str, Any] | None) -> Section:
    """A table of the groups of each column with their rates, and one of the gaps between groups."""
    if record is None:
        return Section("Fairness", "not measured", notes=["Not measured (fairness.groups not set)."])
    columns = record.get("columns") or {}
    too_small = record.get("too_small") or []
    section = Section(
        "Fairness",
        f"by {', '.join(columns) or 'no column'}; {len(too_small)} group(s) too small to judge",
        notes=[f"Outcomes on {number(record.get('rows'))} rows ({number(record.get('labelled'))} labelled), by group; a group with fewer "
               f"than {number(record.get('min_rows'))} rows (labelled rows, for the rates that need labels) is shown but not judged."],
    )
    for column, measured in columns.items():
        section.tables.append(Table(
            ("group", "rows", "labelled", "selection rate", "TPR", "FPR", "accuracy", "judged"),
            [(str(g.get("group")), *(number(g.get(key)) for key in ("rows", "labelled", *RATES, "judged"))) for g in measured.get("groups", [])],
            f"By {column}",
        ))
    section.tables.append(Table(
        ("column", *(gap.replace("_", " ") for gap in GAPS)),
        [(column, *(number(measured.get(gap)) for gap in GAPS)) for column, measured in columns.items()],
        "Gaps between groups",
    ))
    return section


def importance(record: dict[str, Any] | None) -> Section:
    """Each feature's importance as a table and as horizontal bars."""
    if record is None:
        return Section("Feature importance", "not measured", notes=["Not measured."])
    features = record.get("features") or []
    top = max(features, key=lambda f: f.get("mean") or 0.0, default=None)
    return Section(
        "Feature importance",
        f"top: {top['feature']} {number(top.get('mean'))}" if top else "no features",
        notes=[f"{str(record.get('method', '')).capitalize()} importance on {record.get('metric')}: how much it changes when a "
               f"feature's values are shuffled, mean and standard deviation over {number(record.get('repeats'))} repeats on "
               f"{number(record.get('rows'))} rows (seed {record.get('seed')})."],
        tables=[Table(("feature", "mean", "std"), [(str(f["feature"]), number(f.get("mean")), number(f.get("std"))) for f in features])],
        charts=[(f"Importance on {record.get('metric')}", importance_chart(features))] if features else [],
    )


def lineage(meta: dict[str, Any]) -> Section:
    """Where the version came from: its run, commit, model plugin and environment, and the search that chose it."""
    plugins = ", ".join(f"{name} {recorded(version)}" for name, version in (meta.get("model_plugin") or {}).items())
    table = fields(
        ("run id", recorded(meta.get("run_id"))), ("git commit", recorded(meta.get("git_commit"))),
        ("model plugin", plugins or "not recorded"), ("python", recorded(meta.get("python"))),
        *((package, recorded(version)) for package, version in (meta.get("packages") or {}).items()),
    )
    section = Section("Lineage", f"run {recorded(meta.get('run_id'))}, commit {recorded(meta.get('git_commit'))}", tables=[table])
    search = meta.get("search")
    if not search:
        section.notes.append("No search: the model was fitted with one set of settings.")
        return section
    best = json.dumps(search.get("best"), sort_keys=True)
    section.tables.append(Table(
        ("settings", search.get("metric", "score"), "chosen"),
        [(json.dumps(c["params"], sort_keys=True), number(c.get("score")), number(c["params"] == search.get("best")))
         for c in search.get("candidates", [])],
        "Search",
        f"Chosen by a search: {len(search.get('candidates', []))} candidates, {search.get('folds')}-fold cross-validated on "
        f"{search.get('metric')}; the best, refitted: {best}.",
    ))
    return section


def approval(decisions: list[dict[str, Any]], candidacy: Candidacy | None, entries: list[dict[str, Any]], problem: Problem | None,
             logged: int) -> Section:
    """The promotion decisions about the version, its candidacy, its audit-log entries and whether the log verifies."""
    chain = f"the audit log's {logged} entries chain intact" if problem is None else f"the audit log does not verify: {problem}"
    if candidacy is None:
        state = "Never a candidate for approval."
    else:
        approvers = f" ({', '.join(candidacy.approvers)})" if candidacy.approvers else ""
        rejected = f", rejected by {candidacy.rejected_by}" if candidacy.rejected_by else ""
        waits = f", to be decided by {candidacy.expires_at}" if candidacy.state == "pending" else ""
        state = (f"Candidate for {candidacy.alias}: {candidacy.state}, {len(candidacy.approvers)} of {candidacy.required} approval(s)"
                 f"{approvers}{rejected}; trained by {candidacy.author}{waits}.")
    gist = f"{len(decisions)} decision(s); {f'candidate: {candidacy.state}' if candidacy else 'no candidacy'}; {chain}"
    section = Section("Approval", gist, notes=[state])
    if decisions:
        section.tables.append(Table(
            ("at", "trigger", "against", "metric", "champion", "this version", "margin", "promoted", "reasons"),
            [(recorded(d.get("at")), d.get("trigger", ""), f"v{d['champion_version']}" if "champion_version" in d else "", d.get("metric", ""),
              optional(d.get("champion")), optional(d.get("challenger")), optional(d.get("margin")), number(d.get("promote")),
              "; ".join(d.get("reasons", []))) for d in decisions],
            "Promotion decisions",
        ))
    else:
        section.notes.append("No promotion decision names this version.")
    section.tables.append(Table(
        ("seq", "at", "action", "alias", "by", "reason"),
        [tuple(recorded(e.get(key), "") for key in ("seq", "at", "action", "alias", "by", "reason")) for e in entries],
        "Audit log",
        f"The entries about this version; {chain} (hash-chained: an entry edited, removed or reordered breaks it).",
    ))
    return section


def known_limits(meta: dict[str, Any], contract: Any, calibrated: bool, problem: Problem | None) -> list[str]:
    """What the card cannot vouch for: no description, metrics missing or undefined, no calibration or
    contract, fairness or importance not measured, groups too small to judge, gaps undefined, a broken audit log."""
    limits = [] if meta.get("description") else ["No intended use is stated (job.description is empty)."]
    values, config = meta.get("metrics") or {}, meta.get("config") or {}
    for key in ("train", "approval"):
        metric = (config.get(key) or {}).get("metric")
        if metric and metric not in values:
            limits.append(f"{metric} ({key}.metric) is missing from the holdout's metrics.")
    limits += [f"{metric} is undefined on the holdout." for metric, value in values.items() if undefined(value)]
    if not calibrated:
        limits.append("No calibration: scoring cannot estimate this model's performance without labels.")
    if contract is None:
        limits.append("No data contract: batches are not checked before they are scored.")
    record = meta.get("fairness")
    if record is None:
        limits.append("Fairness not measured (fairness.groups not set).")
    else:
        columns = record.get("columns") or {}
        limits += [f"Too small to judge: {entry}." for entry in record.get("too_small") or []]
        limits += [f"{rate.replace('_', ' ').capitalize()} of {column}={g.get('group')} is undefined." for column, measured in columns.items()
                   for g in measured.get("groups", []) if g.get("judged") for rate in RATES if undefined(g.get(rate))]
        limits += [f"{gap.replace('_', ' ').capitalize()} by {column} is undefined."
                   for column, measured in columns.items() for gap in GAPS if undefined(measured.get(gap))]
    if meta.get("importance") is None:
        limits.append("Feature importance not measured.")
    if problem is not None:
        limits.append(f"The audit log does not verify ({problem}): its record of this version cannot be trusted.")
    return limits


def build(registry: Registry, version: ModelVersion) -> Card:
    """The card of ``version``, from what ``registry`` keeps about it (read only)."""
    meta, name = version.meta, version.name
    log = registry.audit(name)
    problem = log.verify()
    contract, record = version.load_contract(), version.load_calibration()
    aliases = [alias for alias, held in registry.aliases(name).items() if held == version.version]
    limits = known_limits(meta, contract, record is not None, problem)
    sections = [
        details(meta, aliases),
        intended_use(meta),
        training_data(meta, contract),
        metrics(meta),
        calibration(record),
        fairness(meta.get("fairness")),
        importance(meta.get("importance")),
        lineage(meta),
        approval(
            [d for d in registry.decisions(name) if d.get("challenger_version") == version.version],
            registry.candidacies(name).get(version.version),
            [e for e in log.entries() if e.get("version") == version.version],
            problem,
            len(log.lines()),
        ),
        Section("Known limits", f"{len(limits)} found", items=limits or ["None found."]),
    ]
    return Card(name, version.version, registry.uri, f"{datetime.now(UTC):%Y-%m-%d %H:%M UTC}", sections)


def calibration_chart(curve: Calibration) -> str:
    """The calibration over [0, 1] as SVG: raw score across, calibrated probability up, the diagonal
    (a score that is already its probability) dashed."""
    import numpy as np

    scores = np.unique(np.clip([0.0, *curve.scores, 1.0], 0.0, 1.0))
    span = SIZE - 2 * MARGIN

    def at(score: float, probability: float) -> str:
        return f"{MARGIN + span * score:.1f},{SIZE - MARGIN - span * probability:.1f}"

    ticks = "".join(
        f'<text x="{MARGIN + span * v:.1f}" y="{SIZE - MARGIN + 12}" font-size="9" text-anchor="middle">{v:g}</text>'
        f'<text x="{MARGIN - 4}" y="{SIZE - MARGIN - span * v + 3:.1f}" font-size="9" text-anchor="end">{v:g}</text>'
        for v in (0, 0.5, 1)
    )
    return (
        f'<svg width="{SIZE}" height="{SIZE}" role="img">'
        f'<polyline points="{at(0, 0)} {at(0, 1)} {at(1, 1)} {at(1, 0)} {at(0, 0)}" fill="none" stroke="#999"/>'
        f'<polyline points="{at(0, 0)} {at(1, 1)}" fill="none" stroke="{REFERENCE}" stroke-dasharray="5 3"><title>calibrated as it is</title></polyline>'
        f'<polyline points="{" ".join(at(float(s), float(p)) for s, p in zip(scores, curve(scores)))}" fill="none" stroke="{VALUE}" '
        f'stroke-width="1.6"><title>{html.escape(curve.method)} calibration</title></polyline>{ticks}'
        f'<text x="{SIZE / 2}" y="{SIZE - 6}" font-size="10" text-anchor="middle">raw score</text>'
        f'<text x="10" y="{SIZE / 2}" font-size="10" text-anchor="middle" transform="rotate(-90 10 {SIZE / 2})">calibrated probability</text></svg>'
    )


def importance_chart(features: list[dict[str, Any]]) -> str:
    """Each feature's mean importance as a horizontal bar from zero and its standard deviation as a whisker, as SVG."""
    means = [float(f.get("mean") or 0.0) for f in features]
    spreads = [float(f.get("std") or 0.0) for f in features]
    lo = min(0.0, *(m - s for m, s in zip(means, spreads)))
    hi = max(0.0, *(m + s for m, s in zip(means, spreads)))
    plot = BARS_WIDTH - NAMES - 12

    def x(value: float) -> float:
        return NAMES + plot * (value - lo) / ((hi - lo) or 1.0)

    height = BAR * len(features) + 8
    parts = [f'<line x1="{x(0):.1f}" y1="2" x2="{x(0):.1f}" y2="{height - 2}" stroke="#999"/>']
    for i, (feature, mean, spread) in enumerate(zip(features, means, spreads)):
        y, name = 4 + i * BAR, str(feature["feature"])
        parts.append(
            f'<text x="{NAMES - 6}" y="{y + BAR / 2 + 2:.1f}" font-size="10" text-anchor="end">{html.escape(name[:18])}</text>'
            f'<rect x="{min(x(0), x(mean)):.1f}" y="{y + 3}" width="{abs(x(mean) - x(0)):.1f}" height="{BAR - 8}" fill="{VALUE}">'
            f"<title>{html.escape(name)}: {mean:.4f} ± {spread:.4f}</title></rect>"
            f'<line x1="{x(mean - spread):.1f}" y1="{y + BAR / 2 - 1:.1f}" x2="{x(mean + spread):.1f}" y2="{y + BAR / 2 - 1:.1f}" stroke="#333"/>'
        )
    return f'<svg width="{BARS_WIDTH}" height="{height}" role="img">{"".join(parts)}</svg>'


@cache
def templates() -> Environment:
    """The card's Jinja2 templates (package data): HTML escaped, a Markdown table's cells kept in their cells."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    environment = Environment(
        loader=PackageLoader("launchbay", "templates/card"), autoescape=select_autoescape(["html.j2"]), undefined=StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    environment.filters["cell"] = lambda text: str(text).replace("|", "\\|").replace("\n", " ")
    return environment


def write(card: Card, markdown: Path, page: Path) -> None:
    """Render ``card`` as Markdown and as HTML, then write each to its path (atomically)."""
    rendered = [templates().get_template(t).render(card=card, mark=MARK, style=STYLE + CARD_STYLE) for t in ("card.md.j2", "card.html.j2")]
    for path, text in zip((markdown, page), rendered):
        write_atomic(path, text)
