"""After a scoring pass: compare its drift sketch with the model's reference (before the
scores are committed: this can fail), then show the result, write the report and tell the
alert channels (after the commit: this never fails the run). The model's performance on the
batch is assessed after the commit too, so it never fails the run either."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from launchbay.components import Alert

if TYPE_CHECKING:
    from launchbay.context import RunContext
    from launchbay.drift import DriftResult
    from launchbay.performance.assess import Assessment
    from launchbay.performance.sketch import Target
    from launchbay.registry import ModelVersion
    from launchbay.scoring import ScoringPass


def measure_drift(ctx: RunContext, scoring_pass: ScoringPass) -> DriftResult:
    """Compare the sketch of the scored rows with the model's reference."""
    from launchbay import drift

    with ctx.step("drift"):
        return drift.compare(scoring_pass.reference, scoring_pass.sketch(), config=ctx.monitor)


def assess_performance(ctx: RunContext, version: ModelVersion, target: Target, outcomes: Any) -> Assessment:
    """The batch's performance (``outcomes`` counted for ``target``) against the version's holdout
    metrics, printed as a table. It never fails: a problem is a warning and an undefined verdict."""
    from launchbay.config import typed
    from launchbay.errors import root_cause
    from launchbay.performance.assess import Assessment, assess

    settings = typed(ctx.cfg.monitor, "monitor").performance
    reference = version.meta.get("metrics") or {}
    try:
        assessment = assess(target.task, reference, outcomes, version.load_calibration(), settings.max_drop, settings.max_drops, settings.bins)
    except Exception as exc:  # the scores are committed: the run stands, and says why there is no assessment
        cause = f"the performance could not be assessed: {root_cause(exc)}"
        ctx.console.print(f"[yellow]warning:[/] {cause}")
        section: dict[str, Any] = {"task": target.task, "reference": reference, "realized": None, "labeled_rows": 0, "estimated": None,
                   "estimate_note": cause, "max_drop": {}, "dropped": [], "verdict": "undefined"}
        return Assessment(section, [cause])
    ctx.console.print(assessment.render())
    return assessment


def assess_fairness(ctx: RunContext, counts: Any) -> dict[str, Any]:
    """The ``fairness`` section of the pass's counts per group (``counts``), printed as tables."""
    from launchbay.fairness.metrics import render, summarize

    section = summarize(counts, ctx.cfg.fairness.min_rows)
    for table in render(section):
        ctx.console.print(table)
    return section


def publish(
    ctx: RunContext, version: ModelVersion, result: DriftResult, device: str | None, performance: Assessment | None = None,
    fairness: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Print the drift table, write the HTML report (with the ``performance`` and ``fairness`` sections), alert on drift, the
    features ranked by the version's ``importance``; returns the summary part, which says on which ``device`` the drift was counted."""
    result = result.ranked(version.meta.get("importance"))
    ctx.console.print(result.render())
    report_path = None
    if ctx.cfg.job.report:
        from launchbay.history import trend_link
        from launchbay.report import write_report

        title = f"Drift of {version.name} v{version.version}"
        trend = trend_link(ctx.run_dir, version.name)
        report_path = str(write_report(result, ctx.run_dir / "report.html", title=title, trend=trend, performance=performance,
                                       fairness=fairness))
        ctx.console.print(f"report: {report_path}")
    summary = {**result.to_dict(), "device": device, "report": report_path}
    if result.drifted_features or result.dataset_drift:  # a multivariate drift alone is drift too
        summary["alerts"] = alert(ctx, result, version, report_path)
    return summary


def alert(ctx: RunContext, result: DriftResult, version: ModelVersion, report_path: str | None) -> dict[str, str]:
    """Tell the lifecycle hooks and every configured alert channel about the drift found;
    returns what became of each channel ("sent", or why it failed: a warning, not an error)."""
    message = Alert(
        run_id=ctx.run_id,
        run_dir=str(ctx.run_dir),
        model=version.name,
        model_version=version.version,
        drifted_features=result.drifted_features,
        share_drifted=result.share_drifted,
        report_path=report_path,
        summary=result.to_dict(),
    )
    ctx.notify("launchbay_drift_detected", alert=message)
    return send(ctx, message)


def alert_performance(ctx: RunContext, version: ModelVersion, assessment: Assessment, report_path: str | None) -> dict[str, str]:
    """Tell every configured alert channel that the model's performance dropped (``Alert.performance``);
    returns what became of each channel, as ``alert`` does."""
    message = Alert(
        run_id=ctx.run_id,
        run_dir=str(ctx.run_dir),
        model=version.name,
        model_version=version.version,
        drifted_features=[],
        share_drifted=0.0,
        report_path=report_path,
        performance=assessment.section,
    )
    return send(ctx, message)


def alert_candidate(ctx: RunContext, record: dict) -> dict[str, str]:
    """Tell every configured alert channel that a challenger awaits approval (``Alert.candidate``: the decision
    record); returns what became of each channel, as ``alert`` does."""
    message = Alert(
        run_id=ctx.run_id,
        run_dir=str(ctx.run_dir),
        model=ctx.cfg.job.model_name,
        model_version=record["challenger_version"],
        drifted_features=[],
        share_drifted=0.0,
        report_path=None,
        candidate=record,
    )
    return send(ctx, message)


def send(ctx: RunContext, message: Alert) -> dict[str, str]:
    """Send ``message`` to every configured alert channel; a channel that fails is a warning."""
    outcomes = {}
    for name, values in ctx.cfg.alerts.items():
        channel, settings = ctx.settings("alert", {"name": name, **(values or {})})
        try:
            channel.send(message, settings)
            outcomes[name] = "sent"
        except Exception as exc:
            provider = ctx.manager.provider("alert", name)
            outcomes[name] = f"failed: {exc}"
            ctx.console.print(f"[yellow]warning:[/] alert channel '{name}' (plugin {provider}) failed: {exc}")
    return outcomes
