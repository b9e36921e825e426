"""The timeline benchmark: a data set's spans run in order on one workdir, scored per span.

Each span is one `newlevels run` process (the run options passed through as given).
After it, the span's evaluation rows are scored by four SavedModels, each called on
the same request (`serving_default` on serialized tf.Examples, every evaluation row
in one batch: CPU kernels may round differently for another batch size):

- **served**: what is in serving after the run (after a hold, an older model);
- **candidate**: the run's extension; **full**: the run's full retrain;
- **parent**: the model the run extended (in serving before the run).

The cohorts come from the CSVs (`cohorts.py`), not from the Evaluator's slices, so the
table does not depend on which slices a pipeline version computes.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import numpy as np

from newlevels.bench import cohorts, common, timeline_files, timeline_index, timeline_report
from newlevels.bench.movielens_run import newlevels_command, timed_process
from newlevels.transforms.features import DataSpec

#: the token of every feature in the all-unseen request (no data set holds it).
UNSEEN_TOKEN = "<newlevels: a level no span holds>"
MODELS = ("served", "candidate", "full", "parent")


@dataclasses.dataclass(frozen=True)
class TimelinePlan:
    """What one timeline runs.

    Attributes:
        dataset: the data set's name (names the results files).
        tag: what this timeline measures, e.g. `before` or `init-fit` (names the files).
        data_root: the folder holding the `span-N/` folders.
        workdir: the one workdir every span runs on (new or empty).
        spans: the spans to run, in order (1..K).
        run_args: passed to every `newlevels run` after `--data/--span/--workdir`.
        spec: the columns those options give.
        item_column / user_column: the features whose new levels make the new-item and
            new-user cohorts (None when the data has no such feature).
        command: the command line that regenerates the results.
    """

    dataset: str
    tag: str
    data_root: str
    workdir: str
    spans: tuple[int, ...]
    run_args: tuple[str, ...]
    spec: DataSpec
    item_column: str | None
    user_column: str | None
    command: str


def _serving_dir(model_uri: str | None) -> str | None:
    from newlevels.components.trainer.artifacts import SERVING_DIR

    return None if model_uri is None else os.path.join(model_uri, SERVING_DIR)


def _serve(saved_model_dir: str, examples) -> np.ndarray:
    import tensorflow as tf

    from newlevels.components.trainer.export import PREDICTION_KEY

    serve = tf.saved_model.load(saved_model_dir).signatures["serving_default"]
    return np.reshape(serve(examples=examples)[PREDICTION_KEY].numpy(), [-1])


def _examples(tokens: list[dict[str, str]]):
    """Serialized tf.Examples holding these categorical tokens (what serving parses)."""
    from newlevels.components.ingest.csv_rows import Row
    from newlevels.pipeline.predictions import serialized_examples

    return serialized_examples([Row(row_id="", tokens=row, label=0) for row in tokens])


def _parent_known_rows(parent_uri: str, rows: cohorts.SpanCohorts, spec: DataSpec) -> np.ndarray:
    """The evaluation rows whose every level is in the parent's vocabulary."""
    from newlevels.components.trainer.artifacts import read_embeddings

    features = read_embeddings(parent_uri).features
    vocabularies = {name: features[name].vocabulary for name in spec.feature_names}
    return cohorts.rows_within_vocabulary(rows.eval_rows, vocabularies)


def score_span(
    plan: TimelinePlan, summary: dict[str, Any], served_path: str | None, rows: cohorts.SpanCohorts
) -> dict[str, Any]:
    """Every model's AUC per cohort, its all-unseen probability and the freezing check.

    Returns:
        {"scores": {model: {cohort: {auc, rows}} or None}, "unseen_probability": {model:
        p or None}, "old_level_predictions": {candidate|full: {rows, max_abs}} or None}.
    """
    paths = {
        "served": served_path,
        "candidate": _serving_dir(summary["model_uri"]),
        "full": _serving_dir(summary.get("baseline_model_uri")),
        "parent": _serving_dir(summary.get("parent_model_uri")),
    }
    examples = _examples(rows.eval_rows[list(plan.spec.feature_names)].to_dict("records"))
    unseen = _examples([{feature: UNSEEN_TOKEN for feature in plan.spec.feature_names}])
    probability, scores, unseen_probability = {}, {}, {}
    for name in MODELS:
        if paths[name] is None:
            scores[name] = unseen_probability[name] = None
            continue
        probability[name] = _serve(paths[name], examples)
        scores[name] = cohorts.cohort_scores(rows.labels, probability[name], rows.masks)
        unseen_probability[name] = float(_serve(paths[name], unseen)[0])
    # How far each of this span's models moved the parent's predictions on the rows
    # the parent knew every level of: 0.0 for an extension that froze its old rows.
    old_level = None
    if "parent" in probability:
        known = _parent_known_rows(summary["parent_model_uri"], rows, plan.spec)
        old_level = {
            name: {
                "rows": int(known.sum()),
                "max_abs": float(
                    np.abs(probability[name][known] - probability["parent"][known]).max(initial=0.0)
                ),
            }
            for name in ("candidate", "full")
            if name in probability
        }
    return {
        "scores": scores,
        "unseen_probability": unseen_probability,
        "old_level_predictions": old_level,
    }


def code_version() -> str | None:
    """The git commit of the measured code (`+dirty` with local changes); None outside git."""
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        commit = subprocess.run(
            ["git", "-C", root, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        changes = subprocess.run(
            ["git", "-C", root, "status", "--porcelain", "--untracked-files=no", "--", root],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+dirty" if changes else "")


def run_span(plan: TimelinePlan, span: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Runs `newlevels run` for one span in its own process.

    Returns:
        (the run's summary.json, {wall_s, peak_rss_mib, load}).

    Raises:
        common.BenchError: if the run fails (its log is named).
    """
    log_path = os.path.join(plan.workdir, "timeline-logs", f"span-{span}.log")
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    command = newlevels_command(
        "run",
        "--data",
        plan.data_root,
        "--span",
        str(span),
        "--workdir",
        plan.workdir,
        *plan.run_args,
    )
    wall, rss, code = timed_process(command, log_path)
    if code:
        raise common.BenchError(f"timeline span {span}: `newlevels run` exited {code}: {log_path}")
    path = os.path.join(plan.workdir, "runs", f"span-{span}", "summary.json")
    with open(path, encoding="utf-8") as handle:
        summary = json.load(handle)
    return summary, {
        "wall_s": round(wall, 1),
        "peak_rss_mib": round(rss, 1),
        "load": common.load_average(),
    }


def run_timeline(plan: TimelinePlan, out: str) -> tuple[str, str]:
    """Runs every span of `plan` and writes `<out>/<dataset>-<tag>.json` and `.md`.

    The JSON is rewritten after every span, so a timeline cut short keeps what it measured;
    at the end `<out>/INDEX.md` is rewritten with a line per timeline in `out`.

    Returns:
        (markdown path, JSON path).

    Raises:
        common.BenchError: if a span's run fails.
    """
    results: dict[str, Any] = {
        "dataset": plan.dataset,
        "tag": plan.tag,
        "command": plan.command,
        "run_options": list(plan.run_args),
        "columns": {
            "categorical": list(plan.spec.feature_names),
            "label": plan.spec.label,
            "id": plan.spec.id_column,
            "item": plan.item_column,
            "user": plan.user_column,
        },
        "machine": common.machine(),
        "code": code_version(),
        "load_start": common.load_average(),
        "spans": [],
    }
    history: dict[str, set[str]] = {}
    served: dict[str, Any] | None = None
    for span in plan.spans:
        frame = cohorts.read_span(plan.data_root, span, plan.spec)
        rows = cohorts.span_cohorts(frame, history, plan.spec)
        summary, process = run_span(plan, span)
        if summary.get("pushed"):
            served = {key: summary[f"pushed_{key}"] for key in ("model", "path")}
            served["span"] = span
            served["trained_on"] = timeline_report.trained_on(summary)
        record = timeline_report.span_record(summary, rows, served, process)
        record.update(score_span(plan, summary, served and served["path"], rows))
        results["spans"].append(record)
        timeline_files.write_json(results, out)
        cohorts.add_to_history(history, frame, plan.spec)
        print(timeline_files.progress_line(record), flush=True)
    results["load_end"] = common.load_average()
    written = timeline_files.write(results, out)
    timeline_index.write_index(out)
    return written
