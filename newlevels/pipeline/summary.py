"""What a run did, read from MLMD and the artifacts: `summary.json` and its table.

The keys of `summary.json` are a public interface: extend them, never rename them.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from newlevels.components.certificate import movement
from newlevels.components.evaluation.metrics import (
    BASELINE,
    CANDIDATE,
    FEATURE_SLICES,
    SLICES,
    read_feature_slice_metrics,
    read_slice_metrics,
)
from newlevels.components.trainer import artifacts
from newlevels.contracts.gate import OLD_ROWS
from newlevels.pipeline import metadata, predictions
from newlevels.pipeline.config import RunConfig
from newlevels.pipeline.lineage.records import run_record
from newlevels.pipeline.pipeline import NodeIds

SUMMARY_FILE = "summary.json"


def old_rows_max_abs_change(model_uri: str, parent_uri: str) -> dict[str, float]:
    """Per feature, the largest |change| of any parent token's row.

    Rows are matched by token, never by index. The OOV row is not a parent token's
    row: every model fits its own (`fitting.set_average_oov_rows`).
    """
    moved = movement(artifacts.read_embeddings(parent_uri), artifacts.read_embeddings(model_uri))
    return {name: moved[name]["max_abs"] for name in moved}


def _old_rows_change(model_uri: str, parent_uri: str | None) -> dict[str, float] | None:
    return None if parent_uri is None else old_rows_max_abs_change(model_uri, parent_uri)


def _old_rows_predictions(
    config: RunConfig, model_uri: str, parent_uri: str | None, evaluated: bool
) -> dict[str, float | int] | None:
    """The candidate against its parent on the evaluation rows with only old levels."""
    if parent_uri is None or not evaluated:
        return None
    rows = predictions.span_eval_rows(config.data_root, config.span, config.data_spec)
    return predictions.old_level_prediction_change(model_uri, parent_uri, rows)


def _baseline(record, config: RunConfig, trained: bool) -> dict[str, Any]:
    """The run's baseline: trained or skipped, why, the recorded full retrain used, asked for.

    The Decision records it; a span with no new level has no Decision (nothing ran).
    """
    if record.baseline_plan:
        return dict(record.baseline_plan)
    return {
        "schedule": str(config.baseline),
        "trained": trained,
        "reason": "no new level: nothing trained or evaluated",
        "reference": None,
        "requested": False,
    }


def build_summary(config: RunConfig, run: metadata.PipelineRun) -> dict[str, Any]:
    """Assembles the summary of `run` (the run of `config.span` just finished)."""
    trainer = run.nodes[NodeIds.INCREMENTAL_TRAINER]
    full = run.nodes.get(NodeIds.FULL_TRAINER)
    evaluator = run.nodes.get(NodeIds.EVALUATOR)
    record = run_record(run)
    model = trainer.output("model")
    embeddings = artifacts.read_embeddings(model.uri)
    manifest = embeddings.manifest
    evaluation = evaluator.output("evaluation") if evaluator else None
    return {
        "span": config.span,
        "strategy": config.strategy,
        "label": config.data_spec.label,
        "features": {name: counts.levels() for name, counts in manifest.features.items()},
        "rows_trained": manifest.rows_trained,
        "rows_total": manifest.rows_total,
        "epochs": manifest.epochs,
        "metrics": read_slice_metrics(evaluation.uri if evaluation else None),
        "blessed": record.blessed,
        "pushed": record.pushed,
        "pushed_path": record.pushed_path,
        "model_uri": model.uri,
        "parent_model_uri": manifest.parent_model_uri,
        "seconds": {node_id: round(node.seconds, 2) for node_id, node in run.nodes.items()},
        # Additions beyond the contract's minimum:
        "run_id": run.run_id,
        "pushed_model": record.pushed_model,
        "model_id": model.id,
        "baseline_model_uri": full.output("model").uri if full else None,
        "new_levels": manifest.new_levels,
        "data_root": config.data_root,
        "gate": config.gate.to_dict(),
        "decision": record.decision,
        "decision_reasons": record.decision_reasons,
        "rebase_movement": record.rebase_movement,
        "old_rows_max_abs_change": _old_rows_change(model.uri, manifest.parent_model_uri),
        "frozen_rows": {
            name: 1 + counts.old_levels if manifest.parent_model_uri else 0
            for name, counts in manifest.features.items()
        },
        "model": dict(manifest.model_family),
        "admission": {
            name: {"admitted": counts.admitted, "deferred": counts.deferred}
            for name, counts in manifest.admission.items()
        },
        "metrics_by_feature": read_feature_slice_metrics(
            evaluation.uri if evaluation else None, config.data_spec.feature_names
        ),
        "old_level_rows_prediction_change": _old_rows_predictions(
            config, model.uri, manifest.parent_model_uri, evaluation is not None
        ),
        "shared_weights": {name: float(value) for name, value in embeddings.shared.items()},
        # {vintages, corrected_levels, max_abs_correction} of `--context refresh`, or null.
        "context": _context(embeddings.context),
        # {schedule, trained, reason, reference: {span, model_id, model_uri, run_id, auc} or
        # null, requested}: a skipped span's gate used `reference`'s recorded AUCs.
        "baseline": _baseline(record, config, full is not None),
    }


def _context(context) -> dict[str, Any] | None:
    """What the candidate's context holds (`trainer/context.py`): its own corrections' size."""
    if context is None:
        return None
    own = {name: table[:, -1] for name, table in context.corrections.items()}
    return {
        "vintages": context.depth,
        "corrected_levels": {name: int(np.count_nonzero(c)) for name, c in own.items()},
        "max_abs_correction": {name: float(np.abs(c).max(initial=0.0)) for name, c in own.items()},
    }


def write_summary(summary: dict[str, Any], run_dir: str) -> str:
    os.makedirs(run_dir, exist_ok=True)
    path = os.path.join(run_dir, SUMMARY_FILE)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2, sort_keys=True)
    return path


def _fmt(value: float | None) -> str:
    return "   -  " if value is None else f"{value:.4f}"


def format_summary(summary: dict[str, Any]) -> str:
    """A short, readable table of what was frozen, trained, gated and pushed."""
    parent = summary["parent_model_uri"]
    if parent and summary["new_levels"] == 0:
        return (
            f"span {summary['span']}: no new levels since {parent}: "
            "nothing trained, evaluated or pushed"
        )
    lines = [
        f"span {summary['span']}  strategy {summary['strategy']}  "
        + (f"extends {parent}" if parent else "no previous model: trained every level"),
        "",
        f"{'feature':<16}{'frozen (old)':>14}{'new':>8}{'vocab':>8}",
    ]
    for name, counts in summary["features"].items():
        lines.append(
            f"{name:<16}{counts['old_levels']:>14}{counts['new_levels']:>8}{counts['vocab_size']:>8}"
        )
    lines += [
        "",
        f"rows trained: {summary['rows_trained']} of {summary['rows_total']} span training rows"
        + (f", {summary['epochs']} epochs" if summary.get("epochs") else ""),
        *(
            [f"old rows max |change| by token: {summary['old_rows_max_abs_change']}"]
            if summary["old_rows_max_abs_change"] is not None
            else []
        ),
        "",
        f"{'AUC':<18}{'candidate':>10}{'baseline':>10}{'rows':>7}",
    ]
    # A first model has no parent: no level of it is old, so no "old" row is shown.
    shown = [name for name in SLICES if parent or name != OLD_ROWS]
    metrics = summary["metrics"]
    for name in shown:
        cand, base = metrics[CANDIDATE][name], metrics[BASELINE][name]
        rows = "-" if cand["examples"] is None else str(cand["examples"])
        lines.append(f"{name:<18}{_fmt(cand['auc']):>10}{_fmt(base['auc']):>10}{rows:>7}")
    by_feature = summary.get("metrics_by_feature", {})
    for feature in by_feature.get(CANDIDATE, {}):
        for name in (n for n in FEATURE_SLICES if n in shown):
            cand = by_feature[CANDIDATE][feature][name]
            base = by_feature[BASELINE][feature][name]
            rows = "-" if cand["examples"] is None else str(cand["examples"])
            label = f"{name.split('_')[0]} {feature}"
            lines.append(f"{label:<18}{_fmt(cand['auc']):>10}{_fmt(base['auc']):>10}{rows:>7}")
    lines.append(
        "(unseen: rows holding a level the candidate lacks, served through its OOV row"
        + ("; old: rows whose every level its parent knew)" if parent else ")")
    )
    change = summary.get("old_level_rows_prediction_change")
    if change is not None:
        lines.append(
            f"old-level rows: max |candidate - parent| prediction {change['max_abs']} "
            f"over {change['rows']} rows"
            + (" (the parent's predictions, bit for bit)" if change["max_abs"] == 0.0 else "")
        )
    context = summary.get("context")
    if context and any(context["corrected_levels"].values()):
        lines.append(
            "context: rows holding a new level read corrections of "
            + ", ".join(f"{n} {f}" for f, n in context["corrected_levels"].items())
            + " old levels (max |correction| "
            + f"{max(context['max_abs_correction'].values()):.4f}; old-level rows read none)"
        )
    gate = summary["gate"]
    baseline = summary.get("baseline") or {}
    lines += [
        "",
        *(
            [f"baseline ({baseline['schedule']}): {baseline['reason']}"]
            if baseline.get("schedule")
            else []
        ),
        f"gate: policy {gate['policy']}, AUC >= {gate['min_auc']}, tolerance {gate['tolerance']}"
        f", staleness budget {gate['staleness_budget']}",
        *(f"  {reason}" for reason in summary["decision_reasons"]),
        f"decision: {str(summary['decision']).upper()}",
        *(
            [
                "rebase: the parent's rows moved in the full retrain (by token): "
                + "; ".join(
                    f"{name} max {m['max_abs']:.4f} mean {m['mean_abs']:.4f}"
                    for name, m in summary["rebase_movement"].items()
                )
            ]
            if summary.get("rebase_movement")
            else []
        ),
        "pushed: "
        + (
            f"{summary['pushed_path']} (the {summary['pushed_model']})"
            if summary["pushed"]
            else "nothing"
        ),
        "seconds: "
        + ", ".join(
            f"{k} {v:.1f}" for k, v in sorted(summary["seconds"].items(), key=lambda kv: -kv[1])
        ),
    ]
    return "\n".join(lines)
