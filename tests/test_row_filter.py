"""The incremental Trainer reads only the rows holding at least one new level."""

from __future__ import annotations

import tensorflow as tf

from newlevels.components.trainer import data, training_rows
from newlevels.components.trainer.levels import diff_levels
from newlevels.components.trainer.model import AdditiveEmbeddingModel
from newlevels.components.trainer.strategies import get_strategy
from newlevels.components.trainer.tables import build_tables
from newlevels.transforms.features import DataSpec
from newlevels.transforms.preprocessing import ROW_ID_KEY, transformed_label_key

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
        for index, (item, user, label, _) in enumerate(ROWS):
            feature = {
                ROW_ID_KEY: tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"r%d" % index])),
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
    ROW_ID_KEY: tf.io.FixedLenFeature([], tf.string),
}


def model_with_parent() -> AdditiveEmbeddingModel:
    diffs = {
        "item": diff_levels("item", ["i_old", "i_old2"], ["i_old", "i_new", "i_old2"]),
        "user": diff_levels("user", ["u_old"], ["u_new", "u_old"]),
    }
    parents = {name: tf.zeros((d.frozen_rows, 2)).numpy() for name, d in diffs.items()}
    tables = build_tables(SPEC, diffs, get_strategy("split"), parents, 0, dim=2)
    return AdditiveEmbeddingModel(tables)


def test_only_rows_holding_a_new_level_are_read(tmp_path):
    path = str(tmp_path / "part.gz")
    write_transformed(path)
    model = model_with_parent()
    rows = data.load_rows([path], FEATURE_SPEC, SPEC.feature_names, keep=model.has_new_level)
    kept = [
        (f["item"].numpy().decode(), f["user"].numpy().decode(), int(y)) for f, y in rows.dataset
    ]
    assert kept == [(i, u, y) for i, u, y, new in ROWS if new]
    assert (rows.kept, rows.read) == (3, len(ROWS))


def test_without_a_filter_every_row_is_read(tmp_path):
    path = str(tmp_path / "part.gz")
    write_transformed(path)
    rows = data.load_rows([path], FEATURE_SPEC, SPEC.feature_names)
    assert (rows.kept, rows.read) == (len(ROWS), len(ROWS))
    assert len(list(rows.dataset)) == len(ROWS)


def test_rows_are_counted_across_files_and_read_batches(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "READ_BATCH", 4)  # 6 rows per file: full and partial batches
    paths = [str(tmp_path / f"part-{k}.gz") for k in range(3)]
    for path in paths:
        write_transformed(path)
    model = model_with_parent()
    rows = data.load_rows(paths, FEATURE_SPEC, SPEC.feature_names, keep=model.has_new_level)
    assert (rows.kept, rows.read) == (9, 3 * len(ROWS))
    assert len(list(rows.dataset)) == 9


def test_a_pattern_matching_no_file_is_an_error(tmp_path):
    import pytest

    with pytest.raises(FileNotFoundError, match="no example files match"):
        data.list_files([str(tmp_path / "nothing-*")])


def test_replay_adds_the_old_level_rows_picked_by_the_hash_of_their_id(tmp_path):
    path = str(tmp_path / "part.gz")
    write_transformed(path)
    model = model_with_parent()
    ids = tf.constant([f"r{i}" for i in range(len(ROWS))])
    picked = training_rows.replayed(ids, 0.5).numpy().tolist()
    expected = [(i, u, y) for (i, u, y, new), pick in zip(ROWS, picked, strict=True) if new or pick]
    for _ in range(2):  # the same rows every time
        rows = data.load_rows(
            [path], FEATURE_SPEC, SPEC.feature_names, model.has_new_level, replay_fraction=0.5
        )
        assert all(set(f) == {"item", "user"} for f, _ in rows.dataset)
        kept = [
            (f["item"].numpy().decode(), f["user"].numpy().decode(), int(y))
            for f, y in rows.dataset
        ]
        assert kept == expected
        # rows_trained counts the rows holding a new level; replayed rows apart.
        new_rows = sum(new for *_, new in ROWS)
        assert (rows.kept, rows.replayed, rows.read) == (
            new_rows,
            len(expected) - new_rows,
            len(ROWS),
        )
        assert 0 < rows.replayed < len(ROWS) - new_rows, "the test needs some rows left out"
    everything = data.load_rows([path], FEATURE_SPEC, SPEC.feature_names, model.has_new_level, 1.0)
    assert (everything.kept, everything.replayed, everything.read) == (3, 3, len(ROWS))
    assert len(list(everything.dataset)) == len(ROWS)
    assert not training_rows.replayed(ids, 0.0).numpy().any()


def test_replay_samples_about_its_fraction_of_many_ids():
    ids = tf.constant([f"row-{i}" for i in range(20_000)])
    share = float(tf.reduce_mean(tf.cast(training_rows.replayed(ids, 0.1), tf.float32)))
    assert 0.09 < share < 0.11


def test_held_out_rows_are_set_aside_by_the_hash_of_their_id_and_counted_apart(tmp_path):
    path = str(tmp_path / "part.gz")
    write_transformed(path)
    model = model_with_parent()
    ids = tf.constant([f"r{i}" for i in range(len(ROWS))])
    held = training_rows.held_out(ids, 0.5).numpy().tolist()
    picked = training_rows.replayed(ids, 0.5).numpy().tolist()
    selected = [new or pick for (*_, new), pick in zip(ROWS, picked, strict=True)]
    rows = data.load_rows(
        [path], FEATURE_SPEC, SPEC.feature_names, model.has_new_level, 0.5, holdout_fraction=0.5
    )

    def tokens(dataset):
        return [(f["item"].numpy().decode(), f["user"].numpy().decode()) for f, _ in dataset]

    chosen = [(i, u, h) for (i, u, *_), s, h in zip(ROWS, selected, held, strict=True) if s]
    assert tokens(rows.dataset) == [(i, u) for i, u, h in chosen if not h]
    assert tokens(rows.holdout) == [(i, u) for i, u, h in chosen if h]
    assert rows.held_out == sum(h for *_, h in chosen) > 0
    trained_new = sum(new and not h for (*_, new), h in zip(ROWS, held, strict=True))
    assert rows.kept == trained_new, "held-out rows are not rows trained"
    assert rows.kept + rows.replayed + rows.held_out == sum(selected)


def test_the_held_out_draw_is_independent_of_the_replay_draw():
    ids = tf.constant([f"row-{i}" for i in range(20_000)])
    held = training_rows.held_out(ids, 0.1).numpy()
    replay = training_rows.replayed(ids, 0.1).numpy()
    assert 0.09 < held.mean() < 0.11
    both = (held & replay).mean()
    assert 0.005 < both < 0.015, "independent draws overlap on about 1 % of the rows"
