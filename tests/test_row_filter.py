"""The incremental Trainer reads only the rows holding at least one new level."""

from __future__ import annotations

import tensorflow as tf

from components.trainer import data
from components.trainer.levels import diff_levels
from components.trainer.model import AdditiveEmbeddingModel, build_tables
from components.trainer.strategies import get_strategy
from transforms.features import DataSpec
from transforms.preprocessing import transformed_label_key

SPEC = DataSpec.build(["item", "user"], "label", "id")
ROWS = [  # (item, user, label, holds a new level)
    ("i_old", "u_old", 1, False),
    ("i_new", "u_old", 0, True),
    ("i_old", "u_new", 1, True),
    ("i_new", "u_new", 0, True),
    ("never seen", "u_old", 1, False),  # unseen now: OOV, not a level the model adds
    ("i_old2", "u_old", 0, False),
]


def write_transformed(path: str) -> None:
    with tf.io.TFRecordWriter(path, options="GZIP") as writer:
        for item, user, label, _ in ROWS:
            feature = {
                "item": tf.train.Feature(bytes_list=tf.train.BytesList(value=[item.encode()])),
                "user": tf.train.Feature(bytes_list=tf.train.BytesList(value=[user.encode()])),
                transformed_label_key(): tf.train.Feature(
                    int64_list=tf.train.Int64List(value=[label])
                ),
            }
            writer.write(
                tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()
            )


FEATURE_SPEC = {
    "item": tf.io.FixedLenFeature([], tf.string),
    "user": tf.io.FixedLenFeature([], tf.string),
    transformed_label_key(): tf.io.FixedLenFeature([], tf.int64),
}


def model_with_parent() -> AdditiveEmbeddingModel:
    diffs = {
        "item": diff_levels("item", ["i_old", "i_old2"], ["i_old", "i_new", "i_old2"]),
        "user": diff_levels("user", ["u_old"], ["u_new", "u_old"]),
    }
    parents = {name: tf.zeros((d.frozen_rows, 2)).numpy() for name, d in diffs.items()}
    return AdditiveEmbeddingModel(build_tables(SPEC, diffs, get_strategy("split"), parents, 0))


def test_only_rows_holding_a_new_level_are_read(tmp_path):
    path = str(tmp_path / "part.gz")
    write_transformed(path)
    model = model_with_parent()
    rows = data.load_rows([path], FEATURE_SPEC, SPEC.feature_names, keep=model.has_new_level)
    kept = [(f["item"].numpy().decode(), f["user"].numpy().decode(), int(y)) for f, y in rows]
    assert kept == [(i, u, y) for i, u, y, new in ROWS if new]
    assert data.count_rows(rows) == 3


def test_without_a_filter_every_row_is_read(tmp_path):
    path = str(tmp_path / "part.gz")
    write_transformed(path)
    rows = data.load_rows([path], FEATURE_SPEC, SPEC.feature_names)
    assert data.count_rows(rows) == len(ROWS)


def test_a_pattern_matching_no_file_is_an_error(tmp_path):
    import pytest

    with pytest.raises(FileNotFoundError, match="no example files match"):
        data.list_files([str(tmp_path / "nothing-*")])
