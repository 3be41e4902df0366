"""Check the batch (features and the model's predictions) for drift against the model's reference."""

from __future__ import annotations

from launchbay.components import Alert
from launchbay.errors import LaunchbayError


def alert(ctx, result, version, report_path) -> None:
    """Tell the lifecycle hooks and every configured alert channel about the drift found."""
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
    ctx.manager.hook.launchbay_drift_detected(alert=message)
    for name, values in ctx.cfg.alerts.items():
        channel, settings = ctx.settings("alert", {"name": name, **(values or {})})
        try:
            channel.send(message, settings)
        except Exception as exc:
            provider = ctx.manager.provider("alert", name)
            raise LaunchbayError(f"alert channel '{name}' (plugin {provider}) failed: {exc}") from exc


def publish(ctx, version, result) -> dict:
    """Print the drift table, write the HTML report, alert on drift; returns the summary part."""
    ctx.console.print(result.render())
    report_path = None
    if ctx.cfg.job.report:
        from launchbay.report import write_report

        title = f"Drift of {version.name} v{version.version}"
        report_path = str(write_report(result, ctx.run_dir / "report.html", title=title))
        ctx.console.print(f"report: {report_path}")
    if result.drifted_features:
        alert(ctx, result, version, report_path)
    return {**result.to_dict(), "report": report_path}


def run(ctx) -> dict:
    from launchbay.jobs.score import check_drift, score

    job = ctx.cfg.job
    version = ctx.registry.get(job.model_name, job.model_version)
    _, scoring = score(ctx, version, drift=True, output=None)
    return {"drift": check_drift(ctx, version, scoring), "model": {"name": version.name, "version": version.version}}
