"""What a report reads: the run's summary, its models' exported rows, the span CSVs.

Everything comes from files a run leaves behind: `runs/span-N/summary.json`,
each Model artifact's `embeddings/` and `Format-Serving/`, and the CSV spans
under the run's data root.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping

from newlevels.components.ingest import csv_rows
from newlevels.components.trainer import artifacts
from newlevels.pipeline.errors import ReportInputError
from newlevels.pipeline.predictions import span_eval_rows
from newlevels.pipeline.summary import SUMMARY_FILE
from newlevels.transforms.features import DataSpec


@dataclasses.dataclass(frozen=True)
class RunInputs:
    """One finished run, as the report sees it."""

    summary: dict
    spec: DataSpec
    model: dict[str, artifacts.FeatureRows]
    parent: dict[str, artifacts.FeatureRows] | None
    baseline: dict[str, artifacts.FeatureRows] | None
    positive_rates: dict[str, dict[str, float]]  # feature -> token -> observed rate


def run_dir(workdir: str, span: int) -> str:
    """Where a run of span `span` keeps its summary (and the report goes)."""
    return os.path.join(workdir, "runs", f"span-{span}")


def read_summary(workdir: str, span: int) -> dict:
    """Reads `runs/span-N/summary.json`.

    Raises:
        ReportInputError: if the run has no summary (never ran, or failed).
    """
    path = os.path.join(run_dir(workdir, span), SUMMARY_FILE)
    if not os.path.exists(path):
        raise ReportInputError(f"{path} does not exist: run span {span} with `newlevels run` first")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def data_root(summary: Mapping) -> str:
    """The CSV data root the run read.

    Raises:
        ReportInputError: for a summary written before `data_root` was recorded.
    """
    if "data_root" not in summary:
        raise ReportInputError(
            f"the summary of span {summary['span']} has no data_root (written before the report "
            "existed): rerun the span to use the report"
        )
    return summary["data_root"]


def positive_rates(root: str, spans: int, spec: DataSpec) -> dict[str, dict[str, float]]:
    """Per feature and token, the share of positive labels over every row of spans 1..`spans`."""
    counts = {name: {} for name in spec.feature_names}
    for span in range(1, spans + 1):
        for path in csv_rows.span_files(root, span):
            for row in csv_rows.read_rows(path, spec):
                for name, token in row.tokens.items():
                    seen, positive = counts[name].get(token, (0, 0))
                    counts[name][token] = (seen + 1, positive + row.label)
    return {
        name: {token: positive / seen for token, (seen, positive) in by_token.items()}
        for name, by_token in counts.items()
    }


def _features(uri: str | None) -> dict[str, artifacts.FeatureRows] | None:
    return None if uri is None else artifacts.read_embeddings(uri).features


def load_run(workdir: str, span: int, summary: Mapping | None = None) -> RunInputs:
    """Reads the summary, the three models' rows and the observed positive rates.

    Args:
        workdir: the run's workdir.
        span: the run's span.
        summary: the run's summary when it is not read from the workdir (a run
            read back from an MLMD store, `report/from_store.py`).
    """
    summary = dict(summary) if summary is not None else read_summary(workdir, span)
    manifest = artifacts.read_embeddings(summary["model_uri"]).manifest
    spec = DataSpec.from_dict(manifest.data_spec)
    return RunInputs(
        summary=summary,
        spec=spec,
        model=_features(summary["model_uri"]),
        parent=_features(summary["parent_model_uri"]),
        baseline=_features(summary.get("baseline_model_uri")),
        positive_rates=positive_rates(data_root(summary), span, spec),
    )


def eval_rows(summary: Mapping, spec: DataSpec) -> list[csv_rows.Row]:
    """The rows of the run's span that the pipeline held out for the Evaluator."""
    return span_eval_rows(data_root(summary), summary["span"], spec)
