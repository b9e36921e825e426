"""This run's baseline plan, read from the store: train the full retrain, or skip it.

The schedule (`--baseline`, `contracts/baseline.py`) needs two facts from the
pipeline's MLMD store: the last full retrain an earlier span recorded (its
Model and the cohort AUCs its Decision recorded), and whether a decision since
then held against it and asked for a fresh one. A span run again replaces its
earlier runs, so of each span only its latest run counts, and only spans before
this one.
"""

from __future__ import annotations

import os

from newlevels.contracts import baseline as baselines
from newlevels.contracts.gate import BASELINE, OVERALL
from newlevels.pipeline import metadata
from newlevels.pipeline.config import RunConfig
from newlevels.pipeline.lineage.records import RunRecord, run_record


def last_reference(records: list[RunRecord], span: int) -> tuple[baselines.Reference | None, bool]:
    """The last recorded full retrain before `span`, and whether a fresh one was asked for since.

    Args:
        records: the pipeline's runs, oldest first.
        span: the span about to run.

    Returns:
        (the reference, or None; True if a decision after it asked for a baseline).
    """
    latest = {r.span: r for r in records if r.span is not None and r.span < span}
    reference, requested = None, False
    for record in (latest[s] for s in sorted(latest)):
        recorded = record.auc[BASELINE]
        if record.baseline is not None and recorded[OVERALL] is not None:
            reference = baselines.Reference(
                span=record.span,
                model_id=record.baseline.id,
                model_uri=record.baseline.uri,
                run_id=record.run_id,
                auc=dict(recorded),
            )
            requested = False
        elif record.baseline_plan and record.baseline_plan.get("requested"):
            requested = True
    return reference, requested


def read_plan(config: RunConfig) -> baselines.Plan:
    """Whether this run trains its full retrain, from `config.baseline` and the store.

    A schedule of `every` reads nothing: every span trains it.
    """
    schedule = config.baseline
    if schedule.always:
        return baselines.plan(schedule, config.span, None, False)
    where = config.metadata_store
    records: list[RunRecord] = []
    if where.sqlite_path is None or os.path.isfile(where.sqlite_path):
        store = metadata.connect(where)
        records = [run_record(run) for run in metadata.all_runs(store, config.pipeline_name)]
    reference, requested = last_reference(records, config.span)
    return baselines.plan(schedule, config.span, reference, requested)
