"""After a scoring pass: compare its drift sketch with the model's reference (before the
scores are committed: this can fail), then show the result, write the report and tell the
alert channels (after the commit: this never fails the run)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from launchbay.components import Alert

if TYPE_CHECKING:
    from launchbay.context import RunContext
    from launchbay.drift import DriftResult
    from launchbay.registry import ModelVersion
    from launchbay.scoring import ScoringPass


def measure_drift(ctx: RunContext, scoring_pass: ScoringPass) -> DriftResult:
    """Compare the sketch of the scored rows with the model's reference."""
    from launchbay import drift

    with ctx.step("drift"):
        return drift.compare(scoring_pass.reference, scoring_pass.sketch(), config=ctx.monitor)


def publish(ctx: RunContext, version: ModelVersion, result: DriftResult, device: str | None) -> dict[str, Any]:
    """Print the drift table, write the HTML report, alert on drift; returns the summary part,
    which says on which ``device`` the drift was counted."""
    ctx.console.print(result.render())
    report_path = None
    if ctx.cfg.job.report:
        from launchbay.report import write_report

        title = f"Drift of {version.name} v{version.version}"
        report_path = str(write_report(result, ctx.run_dir / "report.html", title=title))
        ctx.console.print(f"report: {report_path}")
    summary = {**result.to_dict(), "device": device, "report": report_path}
    if result.drifted_features:
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
