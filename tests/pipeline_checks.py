"""Checks shared by the end-to-end tests (real pipeline runs on generated data)."""

from __future__ import annotations

import csv
import glob
import json
import os

import numpy as np
import tensorflow as tf

from newlevels import cli
from newlevels.components.ingest.component import is_eval_row
from newlevels.components.trainer import artifacts, data
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


def run_spans(data: str, workdir: str, spans, strategy: str, columns: list[str]) -> list[dict]:
    """Runs `newlevels run` for each span and returns the summaries."""
    summaries = []
    for span in spans:
        code = cli.main(
            [
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
        )
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


def is_training_row(row_id: str) -> bool:
    return not is_eval_row(row_id)


def held_out_ids(row_ids: list[str], fraction: float = DEFAULT_HOLDOUT_FRACTION) -> set[str]:
    """The ids an extension with early stopping holds out of its training rows."""
    if not row_ids:
        return set()
    flags = data.held_out(tf.constant(row_ids), fraction).numpy()
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
    """Per feature, max |row change| over every parent token (matched by token) and OOV."""
    parent = artifacts.read_embeddings(parent_uri).features
    child = artifacts.read_embeddings(child_uri).features
    changes = {}
    for name, old in parent.items():
        new = child[name]
        assert new.vocabulary[: len(old.vocabulary)] == old.vocabulary
        row_of = {token: i for i, token in enumerate(new.vocabulary)}
        worst = float(np.max(np.abs(new.oov - old.oov)))
        for i, token in enumerate(old.vocabulary):
            worst = max(worst, float(np.max(np.abs(new.weights[row_of[token]] - old.weights[i]))))
        changes[name] = worst
    return changes
