"""The promotion rule: a challenger replaces the champion only if it wins by a margin and widens no
fairness gap past ``approval.max_fairness_gap``; the first version of a model becomes its champion unopposed."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from launchbay.config import ApprovalMode, TrainOn, Trigger
from launchbay.errors import LaunchbayError
from launchbay.fairness.metrics import widened
from launchbay.performance.assess import observed
from launchbay.training.fit import Trained, holdout_fairness, train_model
from launchbay.training.metrics import LOWER_IS_BETTER, evaluate, gain

if TYPE_CHECKING:
    from launchbay.context import RunContext


@dataclass
class Decision:
    promote: bool
    metric: str
    champion: float
    challenger: float
    margin: float
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def decide(champion: dict[str, float], challenger: dict[str, float], metric: str, margin: float, rows: int) -> Decision:
    """Compare two models' metrics measured on the same ``rows`` holdout rows."""
    if metric not in champion or metric not in challenger:
        have = sorted(set(champion) & set(challenger))
        raise LaunchbayError(f"approval.metric: '{metric}' is not measured for both champion and challenger (have {have})")
    won = gain(metric, challenger[metric], champion[metric])
    direction = "lower" if metric in LOWER_IS_BETTER else "higher"
    promote = won >= margin
    reasons = [
        f"{metric} ({direction} is better) on the same {rows} holdout rows: challenger {challenger[metric]:.4f}, "
        f"champion {champion[metric]:.4f}, gain {won:+.4f}, required {margin:+.4f}",
        "challenger promoted" if promote else "champion kept: the challenger did not win by the margin",
    ]
    return Decision(promote, metric, champion[metric], challenger[metric], margin, reasons)


def trigger(setting: Trigger, drift: dict | None, performance: dict | None = None) -> str | None:
    """Why job=pipeline should train a challenger now (from the run's ``drift`` and ``performance``
    summary sections), or None."""
    if setting == Trigger.always:
        return "on demand (approval.trigger=always)"
    drifted = (drift or {}).get("drifted_features") or []
    if setting == Trigger.drift and drifted:
        return f"drift in {', '.join(drifted)}"
    performance = performance or {}
    dropped = performance.get("dropped") or []
    if setting == Trigger.performance and dropped:
        values = [f"{m} {performance['reference'][m]:.4f} -> {observed(performance, m):.4f}" for m in dropped]
        return f"performance dropped: {', '.join(values)}"
    return None


def crown_first(ctx: RunContext, trained: Trained) -> None:
    """Make a model's first version its champion (``approval.alias``): there is none to compare with."""
    name, alias, version = ctx.cfg.job.model_name, ctx.cfg.approval.alias, trained.version.version
    if alias in ctx.registry.aliases(name):
        return
    reason = f"first version of '{name}': no {alias} to compare with"
    ctx.registry.record_decision(name, {"challenger_version": version, "promote": True, "reasons": [reason]})
    ctx.registry.set_alias(name, alias, version, reason=reason, run_id=ctx.run_id)
    ctx.notify("launchbay_model_promoted", model=name, alias=alias, version=version, reason=reason)
    ctx.console.print(f"{name} v{version} is the {alias}")


def challenge(ctx: RunContext, reason: str, drift: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train a challenger, compare it with the champion on the challenger's holdout, promote it if it wins
    (``approval.mode=manual``: make it a candidate, with its evidence and the batch's ``drift``)."""
    cfg, job = ctx.cfg.approval, ctx.cfg.job
    champion = ctx.registry.get(job.model_name, cfg.alias)
    ctx.console.print(f"training a challenger to {job.model_name} v{champion.version}: {reason}")
    batch = cfg.train_on == TrainOn.batch
    where = "the batch (approval.train_on=batch needs labelled rows)" if batch else "the training data"
    trained = train_model(ctx, ctx.cfg.batch if batch else ctx.cfg.data, where, stage="challenger ")
    holdout, label = trained.holdout, job.label
    missing = [f for f in champion.meta["features"] if f not in holdout.columns]
    if missing:
        raise LaunchbayError(f"approval: the challenger's holdout lacks columns {missing} that {cfg.alias} v{champion.version} needs")
    champion_model = champion.load_model()
    with ctx.step("champion on holdout"):
        champion_metrics = evaluate(champion_model, holdout[champion.meta["features"]], holdout[label].to_numpy())
    decision = decide(champion_metrics, trained.metrics, cfg.metric, cfg.margin, len(holdout))
    fairness = judge_fairness(ctx, decision, champion, champion_model, trained)
    challenger = trained.version.version
    record = {
        "trigger": reason,
        "champion_version": champion.version,
        "challenger_version": challenger,
        "run_id": ctx.run_id,
        "holdout_rows": len(holdout),
        "metrics": {"champion": champion_metrics, "challenger": trained.metrics},
        **({"fairness": fairness} if fairness else {}),
        **decision.to_dict(),
    }
    ctx.registry.record_decision(job.model_name, record)
    if decision.promote and cfg.mode == ApprovalMode.manual:
        evidence = {
            "metrics": record["metrics"], "holdout_rows": len(holdout), "reasons": decision.reasons, "drift": drift,
            "fairness": fairness, "importance": trained.version.meta.get("importance"),
        }
        candidacy = ctx.registry.propose(
            job.model_name, challenger, cfg.alias, evidence, cfg.required, cfg.separate_duties, cfg.expires_h, ctx.run_id
        )
        record["candidate"] = {"required": cfg.required, "expires_at": candidacy.expires_at}
        ctx.console.print(
            f"v{challenger} is a candidate for {cfg.alias}: {decision.reasons[0]}; it awaits {cfg.required} approval(s) "
            f"(launchbay models approve {job.model_name} {challenger} --by NAME)"
        )
        return record
    if decision.promote:
        ctx.registry.set_alias(job.model_name, cfg.alias, challenger, reason=decision.reasons[0], run_id=ctx.run_id)
        ctx.notify(
            "launchbay_model_promoted", model=job.model_name, alias=cfg.alias, version=challenger, reason=decision.reasons[0]
        )
    else:
        ctx.registry.refuse(job.model_name, challenger, "; ".join(decision.reasons), ctx.run_id)
    verdict = f"[green]promoted[/] v{challenger} to {cfg.alias}" if decision.promote else f"kept v{champion.version} as {cfg.alias}"
    ctx.console.print(f"{verdict}: {decision.reasons[0] if decision.promote else '; '.join(decision.reasons[:-1])}")
    return record


def judge_fairness(ctx: RunContext, decision: Decision, champion, champion_model, trained: Trained) -> dict[str, Any] | None:
    """Both models' fairness on the challenger's holdout (None without ``fairness.groups``); a challenger that
    widens a gap past ``approval.max_fairness_gap`` is refused, the gaps among the decision's reasons."""
    challenger = trained.version.meta.get("fairness")
    if challenger is None:
        return None
    alias = ctx.cfg.approval.alias
    with ctx.step("champion fairness on holdout"):
        theirs = holdout_fairness(ctx, champion_model, champion.meta["features"], trained.holdout, list(challenger["columns"]),
                                  f"{alias} v{champion.version}")
    limit = ctx.cfg.approval.max_fairness_gap
    if decision.promote and limit is not None and (reasons := widened(theirs, challenger, limit)):
        decision.promote = False
        decision.reasons = [decision.reasons[0], *reasons, f"{alias} kept: the challenger widens a fairness gap past approval.max_fairness_gap"]
    return {"champion": theirs, "challenger": challenger, "max_gap": limit}
