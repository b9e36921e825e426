from __future__ import annotations

import numpy as np
import tensorflow as tf
from tensorflow_metadata.proto.v0 import schema_pb2

from newlevels.components.trainer import train
from newlevels.components.trainer.levels import diff_levels
from newlevels.components.trainer.settings import Role, TrainerSettings, TrainingOptions
from newlevels.pipeline.data.toy import (
    INITIAL_GROUPS,
    INITIAL_LEVELS,
    VANISHING_LEVELS,
    mixed_toy_rows,
    toy_rows,
    write_mixed_toy,
    write_toy,
)
from newlevels.transforms.features import DataSpec


def test_categorical_features_have_no_closed_domain_so_new_levels_are_never_anomalies():
    schema = DataSpec.build(["userId", "movieId"], "liked", "id").raw_schema()
    by_name = {f.name: f for f in schema.feature}
    assert set(by_name) == {"id", "userId", "movieId", "liked"}
    for name in ("userId", "movieId"):
        assert by_name[name].type == schema_pb2.BYTES
        assert not by_name[name].HasField("domain") and not by_name[name].HasField("string_domain")
    assert not schema.string_domain
    assert by_name["liked"].type == schema_pb2.INT


def test_data_spec_round_trips_through_its_dict_form():
    spec = DataSpec.build(["a", "b"], "y", "id")
    assert DataSpec.from_dict(spec.to_dict()) == spec


def test_a_data_spec_written_with_embedding_widths_still_loads():
    """Specs carried `embedding_dim` per feature before it became a model option."""
    old = {
        "categorical": [{"name": "a", "embedding_dim": 5}, {"name": "b", "embedding_dim": 5}],
        "label": "y",
        "id_column": "id",
    }
    assert DataSpec.from_dict(old) == DataSpec.build(["a", "b"], "y", "id")


def test_toy_data_is_deterministic_and_split_at_level_80(tmp_path):
    assert toy_rows(300, seed=1) == toy_rows(300, seed=1)
    counts = write_toy(str(tmp_path))
    assert sum(counts.values()) == 5000
    span2 = (tmp_path / "span-2" / "toy.csv").read_text().splitlines()[1:]
    assert {int(line.split(",")[1][1:]) >= INITIAL_LEVELS for line in span2} == {True}


def mixed_span(spans: dict, span: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """A span's tokens per feature and its labels."""
    rows = spans[span]
    tokens = {name: np.array([row[k] for row in rows]) for k, name in ((1, "level"), (2, "group"))}
    return tokens, np.array([row[3] for row in rows], np.float32)


def test_mixed_toy_is_deterministic_and_mixes_old_and_new_levels_in_span_2(tmp_path):
    assert mixed_toy_rows(200, 100, seed=3) == mixed_toy_rows(200, 100, seed=3)
    assert write_mixed_toy(str(tmp_path)) == {1: 4000, 2: 1500}
    spans = mixed_toy_rows()
    old_levels, old_groups = {row[1] for row in spans[1]}, {row[2] for row in spans[1]}
    assert len(old_levels) == INITIAL_LEVELS and len(old_groups) == INITIAL_GROUPS
    kinds = {(row[1] in old_levels, row[2] in old_groups) for row in spans[2]}
    assert kinds == {(False, True), (False, False), (True, False), (True, True)}
    vanished = old_levels - {row[1] for row in spans[2]}
    assert vanished == {f"L{k}" for k in range(VANISHING_LEVELS)}


def test_mixed_toy_moves_old_rows_of_a_model_that_freezes_nothing():
    # The freezing tests on this data can fail: on span 2's rows holding a new level
    # (the rows the candidate trains on), `full` moves old rows of both features.
    spans = mixed_toy_rows()
    first, _ = mixed_span(spans, 1)
    tokens, labels = mixed_span(spans, 2)
    old = {name: sorted(set(values)) for name, values in first.items()}
    diffs = {
        name: diff_levels(name, old[name], sorted(set(tokens[name]) | set(old[name])))
        for name in tokens
    }
    rng = np.random.default_rng(0)
    parents = {
        name: rng.normal(0, 0.1, (1 + len(vocabulary), 2)).astype(np.float32)
        for name, vocabulary in old.items()
    }
    spec = DataSpec.build(["level", "group"], "label", "id")
    settings = TrainerSettings(spec, Role.INCREMENTAL, "full", TrainingOptions())
    model = train.build_model(settings, diffs, parents)
    keep = model.has_new_level({name: tf.constant(t) for name, t in tokens.items()}).numpy()
    assert 0 < keep.sum() < len(keep)
    trained = {name: values[keep] for name, values in tokens.items()}
    model.fit(tf.data.Dataset.from_tensor_slices((trained, labels[keep])).batch(64), verbose=0)
    for name, parent in parents.items():
        table = model.embeddings[name].full_table().numpy()
        assert np.max(np.abs(table[: len(parent)] - parent)) > 0.01, name
