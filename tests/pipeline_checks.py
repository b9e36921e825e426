"""Checks shared by the end-to-end tests (real pipeline runs on generated data)."""

from __future__ import annotations

import contextlib
import csv
import glob
import hashlib
import io
import json
import os

import numpy as np
import tensorflow as tf

from newlevels import cli
from newlevels.components.ingest.component import is_eval_row
from newlevels.components.trainer import artifacts, training_rows
from newlevels.components.trainer.early_stopping import DEFAULT_HOLDOUT_FRACTION
from newlevels.transforms.features import DataSpec

CONTRACT_KEYS = {
    "span",
    "strategy",
    "label",
    "features",
    "rows_trained",
    "rows_total",
    "metrics",
    "blessed",
    "pushed",
    "pushed_path",
    "model_uri",
    "parent_model_uri",
    "seconds",
}


def run_spans(
    data: str, workdir: str, spans, strategy: str, columns: list[str], outputs=None
) -> list[dict]:
    """Runs `newlevels run` for each span and returns the summaries.

    Args:
        outputs: a list to which each run's console output (stdout, not a
            terminal) is appended; None leaves the output to pytest's capture.
    """
    summaries = []
    for span in spans:
        command = [
            "run",
            "--data",
            data,
            "--span",
            str(span),
            "--workdir",
            workdir,
            "--strategy",
            strategy,
            *columns,
        ]
        if outputs is None:
            code = cli.main(command)
        else:
            with contextlib.redirect_stdout(io.StringIO()) as out:
                code = cli.main(command)
            outputs.append(out.getvalue())
        assert code == 0, f"span {span} failed"
        summaries.append(load_json(os.path.join(workdir, "runs", f"span-{span}", "summary.json")))
    return summaries


def load_json(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def csv_rows(data: str, span: int) -> list[dict[str, str]]:
    rows = []
    for path in sorted(glob.glob(os.path.join(data, f"span-{span}", "*.csv"))):
        with open(path, newline="", encoding="utf-8") as handle:
            rows.extend(csv.DictReader(handle))
    return rows


def csv_header(data: str, span: int) -> list[str]:
    """The header of a span's first CSV file."""
    path = sorted(glob.glob(os.path.join(data, f"span-{span}", "*.csv")))[0]
    with open(path, newline="", encoding="utf-8") as handle:
        return next(csv.reader(handle))


def is_training_row(row_id: str) -> bool:
    return not is_eval_row(row_id)


def held_out_ids(row_ids: list[str], fraction: float = DEFAULT_HOLDOUT_FRACTION) -> set[str]:
    """The ids an extension with early stopping holds out of its training rows."""
    if not row_ids:
        return set()
    flags = training_rows.held_out(tf.constant(row_ids), fraction).numpy()
    return {row_id for row_id, held in zip(row_ids, flags, strict=True) if held}


def to_examples(rows: list[dict[str, str]], spec: DataSpec) -> tf.Tensor:
    serialized = []
    for row in rows:
        feature = {
            name: tf.train.Feature(bytes_list=tf.train.BytesList(value=[row[name].encode()]))
            for name in spec.feature_names
        }
        example = tf.train.Example(features=tf.train.Features(feature=feature))
        serialized.append(example.SerializeToString())
    return tf.constant(serialized)


def predict(saved_model_dir: str, serialized: tf.Tensor) -> np.ndarray:
    serve = tf.saved_model.load(saved_model_dir).signatures["serving_default"]
    return serve(examples=serialized)["probability"].numpy()


def max_change_by_token(parent_uri: str, child_uri: str) -> dict[str, float]:
    """Per feature, max |row change| over every parent token (matched by token).

    The OOV row is the child's own (every model fits it after training).
    """
    parent = artifacts.read_embeddings(parent_uri).features
    child = artifacts.read_embeddings(child_uri).features
    changes = {}
    for name, old in parent.items():
        new = child[name]
        assert new.vocabulary[: len(old.vocabulary)] == old.vocabulary
        row_of = {token: i for i, token in enumerate(new.vocabulary)}
        worst = 0.0
        for i, token in enumerate(old.vocabulary):
            worst = max(worst, float(np.max(np.abs(new.weights[row_of[token]] - old.weights[i]))))
        changes[name] = worst
    return changes


def snapshot(folder) -> dict[str, str]:
    """Every file under `folder` with the SHA-256 of its bytes."""
    found = {}
    for dirpath, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as handle:
                found[os.path.relpath(path, folder)] = hashlib.sha256(handle.read()).hexdigest()
    return found


def fit_start(
    data_root: str, span: int, parent_uri: str, child_uri: str, spec: DataSpec
) -> dict[str, np.ndarray]:
    """The `--init fit` start of the child's new rows, computed apart from the Trainer.

    From the same inputs the Trainer had: the parent's exported rows and the
    span's training rows (from the CSV files) that hold a new level and are not
    held out; then `init.start_rows`, as the Trainer calls it.
    """
    from newlevels.components.trainer import fitting, init
    from newlevels.components.trainer.levels import diff_levels
    from newlevels.components.trainer.settings import Role, TrainerSettings

    parent = artifacts.read_embeddings(parent_uri)
    child = artifacts.read_embeddings(child_uri).features
    names = spec.feature_names
    old = {f: set(parent.features[f].vocabulary) for f in names}
    rows = [
        row
        for row in csv_rows(data_root, span)
        if is_training_row(row["id"]) and any(row[f] not in old[f] for f in names)
    ]
    held_out = held_out_ids([row["id"] for row in rows])
    rows = [row for row in rows if row["id"] not in held_out]
    diffs = {f: diff_levels(f, parent.features[f].vocabulary, child[f].vocabulary) for f in names}
    labelled = init.labelled_rows(
        {f: [row[f] for row in rows] for f in names},
        np.array([float(row[spec.label]) for row in rows]),
        {f: d.merged for f, d in diffs.items()},
    )
    settings = TrainerSettings(spec, Role.INCREMENTAL, "split")
    problem = fitting.start_problem(settings, diffs, parent, labelled)
    return init.start_rows(init.FIT, problem, settings.family.fit_new_rows)
