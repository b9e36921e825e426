"""What a report reads, from an MLMD store instead of a `summary.json`.

A run made on another machine sharing the team's store (or on Kubeflow) leaves
no summary in this workdir; its MLMD records and artifacts say the same: the
models (the incremental Trainer's output, its `base_model` input, the full
retrain), ExampleGen's data root and span, the Evaluator's metrics, and the
decision, blessing and push (read as `newlevels lineage` reads them).
"""

from __future__ import annotations

from typing import Any

import ml_metadata as mlmd

from newlevels.components.evaluation.metrics import read_slice_metrics
from newlevels.components.trainer import artifacts
from newlevels.pipeline import metadata
from newlevels.pipeline.errors import ReportInputError
from newlevels.pipeline.lineage.records import run_record
from newlevels.pipeline.pipeline import NodeIds


def run_of_span(mlmd_store: mlmd.MetadataStore, pipeline_name: str, span: int):
    """The latest run of `pipeline_name` that ingested span `span`.

    Raises:
        ReportInputError: the store holds no such run (naming the spans it holds).
    """
    runs = metadata.all_runs(mlmd_store, pipeline_name)
    spans = [
        metadata.custom_value(run.nodes[NodeIds.EXAMPLE_GEN].execution, "span")
        if NodeIds.EXAMPLE_GEN in run.nodes
        else None
        for run in runs
    ]
    found = [run for run, ran in zip(runs, spans, strict=True) if ran == span]
    if not found:
        ran = sorted({s for s in spans if s is not None})
        raise ReportInputError(
            f"the MLMD store holds no run of span {span} of pipeline {pipeline_name!r} "
            f"(spans run: {', '.join(map(str, ran)) or 'none'})"
        )
    return found[-1]


def summary_from_store(mlmd_store: mlmd.MetadataStore, pipeline_name: str, span: int) -> dict:
    """The summary keys a report reads, for the latest run of `span` in the store.

    Raises:
        ReportInputError: no run of the span, or one that trained no model.
    """
    run = run_of_span(mlmd_store, pipeline_name, span)
    trainer = run.nodes.get(NodeIds.INCREMENTAL_TRAINER)
    model = trainer.output("model") if trainer else None
    if model is None:
        raise ReportInputError(f"run {run.run_id} of span {span} has no trained model")
    manifest = artifacts.read_embeddings(model.uri).manifest
    full = run.nodes.get(NodeIds.FULL_TRAINER)
    evaluator = run.nodes.get(NodeIds.EVALUATOR)
    evaluation = evaluator.output("evaluation") if evaluator else None
    record = run_record(run)
    example_gen = run.nodes[NodeIds.EXAMPLE_GEN].execution
    summary: dict[str, Any] = {
        "span": span,
        "strategy": manifest.strategy,
        "features": {name: counts.levels() for name, counts in manifest.features.items()},
        "rows_trained": manifest.rows_trained,
        "rows_total": manifest.rows_total,
        "metrics": read_slice_metrics(evaluation.uri if evaluation else None),
        "blessed": record.blessed,
        "pushed": record.pushed,
        "pushed_path": record.pushed_path,
        "model_uri": model.uri,
        "parent_model_uri": manifest.parent_model_uri,
        "baseline_model_uri": full.output("model").uri if full and full.output("model") else None,
        "data_root": metadata.custom_value(example_gen, "input_base"),
        "run_id": run.run_id,
        "decision": record.decision,
        "decision_reasons": record.decision_reasons,
        "rebase_movement": record.rebase_movement,
    }
    return summary
