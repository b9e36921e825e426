"""Every strategy and family exports the same signatures, `embeddings/` layout and graph.

The SavedModel serves each model's folded copy: one plain table per feature,
holding the parent's rows bit for bit and predicting exactly what the trained
model predicts.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras

from newlevels.components.trainer import artifacts, export
from newlevels.components.trainer.planning import current_vocabularies
from newlevels.components.trainer.settings import Role, TrainerSettings, TrainingOptions
from newlevels.components.trainer.strategies import INCREMENTAL, REGISTRY
from newlevels.components.trainer.train import TrainedModel
from tests import pipeline_checks as checks
from tests import test_mf_model as mf
from tests.test_strategies import (
    NEW,
    OLD,
    SPEC,
    build,
    level_diffs,
    mixed_batches,
    parent_tables,
)
from tests.transform_graph import write_transform_graph

FAMILIES = ("additive", "mf")
CASES = [(family, strategy) for family in FAMILIES for strategy in REGISTRY]


def raw_rows() -> list[dict[str, str]]:
    items, users = [*OLD["item"], *NEW["item"]], [*OLD["user"], *NEW["user"]]
    return [
        {"id": f"r{k}", "item": items[k % len(items)], "user": users[k % len(users)], "label": "1"}
        for k in range(12)
    ]


@dataclasses.dataclass(frozen=True)
class Exported:
    """One tiny trained model, where it was exported, and the parent rows it started from."""

    uri: str
    trained: TrainedModel
    parents: dict[str, np.ndarray]

    @functools.cached_property
    def loaded(self):
        """The SavedModel, loaded once."""
        return tf.saved_model.load(os.path.join(self.uri, artifacts.SERVING_DIR))


def train_tiny(family: str, strategy: str) -> tuple[TrainedModel, dict[str, np.ndarray]]:
    """A model of `family` extending a random parent with `strategy`, fitted one epoch."""
    if family == "mf":
        parents = mf.parent_tables()
        model = mf.build(strategy, parents, train_shared=False)
        columns = {"model": "mf", "user_column": "user", "item_column": "item"}
    else:
        parents, columns = parent_tables(), {}
        model = build(strategy, parents)
    model.compile(optimizer=keras.optimizers.RMSprop(0.05), loss="binary_crossentropy")
    model.fit(mixed_batches(), epochs=1, verbose=0)
    settings = TrainerSettings(
        data_spec=SPEC,
        role=Role.INCREMENTAL,
        strategy=strategy,
        options=TrainingOptions(**columns),
    )
    return TrainedModel(settings, model, level_diffs(), 256, 256, "parent"), parents


@pytest.fixture(scope="module")
def tft_output(tmp_path_factory) -> tft.TFTransformOutput:
    root = tmp_path_factory.mktemp("transform")
    return write_transform_graph(SPEC, raw_rows(), str(root / "graph"), str(root / "tmp"))


@pytest.fixture(scope="module")
def exports(tmp_path_factory, tft_output) -> dict[tuple[str, str], Exported]:
    """Each (family, strategy)'s tiny trained model, exported by the Trainer's export function."""
    root = tmp_path_factory.mktemp("exports")
    found = {}
    for family, strategy in CASES:
        trained, parents = train_tiny(family, strategy)
        uri = str(root / family / strategy)
        export.export_trained(trained, tft_output, os.path.join(uri, artifacts.SERVING_DIR))
        found[family, strategy] = Exported(uri, trained, parents)
    return found


def signature_shapes(loaded) -> dict[str, tuple]:
    return {
        key: (fn.structured_input_signature, fn.structured_outputs)
        for key, fn in loaded.signatures.items()
    }


def embedding_files(uri: str) -> dict[str, tuple]:
    """Every file under embeddings/: array shape and dtype, vocabulary lines, manifest keys."""
    found = {}
    for folder, _, files in os.walk(os.path.join(uri, artifacts.EMBEDDINGS_DIR)):
        for name in files:
            path = os.path.join(folder, name)
            key = os.path.relpath(path, uri)
            if name.endswith(".npy"):
                array = np.load(path)
                found[key] = (array.shape, array.dtype)
            elif name == "vocab.txt":
                with open(path, encoding="utf-8") as handle:
                    found[key] = tuple(handle.read().splitlines())
            else:
                found[key] = tuple(sorted(artifacts.read_embeddings(uri).manifest.to_dict()))
    return found


def serving_ops(loaded) -> collections.Counter:
    """How many ops of each type `serving_default` runs, nested functions included."""
    graph = loaded.signatures["serving_default"].graph.as_graph_def()
    ops = collections.Counter(node.op for node in graph.node)
    for function in graph.library.function:
        ops.update(node.op for node in function.node_def)
    return ops


def test_every_strategy_serves_the_same_signatures(exports):
    shapes = {case: signature_shapes(found.loaded) for case, found in exports.items()}
    reference = shapes["additive", "split"]
    assert set(reference) == {"serving_default", "transform_features", "slice_features"}
    for case, found in shapes.items():
        assert found == reference, case


def test_every_strategy_exports_the_same_embeddings_layout(exports):
    for family in FAMILIES:
        layouts = {s: embedding_files(exports[family, s].uri) for s in REGISTRY}
        reference = layouts["split"]
        assert reference[os.path.join("embeddings", "item", "weights.npy")] == (
            (len(OLD["item"]) + len(NEW["item"]), 3),
            np.float32,
        )
        for strategy, layout in layouts.items():
            assert layout == reference, (family, strategy)


def test_the_push_guard_finds_every_served_table_of_every_family_and_strategy(exports):
    from newlevels.components.certificate import served_tables_differ

    for (family, strategy), found in exports.items():
        embeddings = artifacts.read_embeddings(found.uri)
        assert served_tables_differ(found.uri, embeddings) is None, (family, strategy)


def test_every_exported_model_serves_its_exported_rows(exports):
    rows = raw_rows()
    examples = checks.to_examples(rows, SPEC)
    for strategy in REGISTRY:
        uri = exports["additive", strategy].uri
        features = artifacts.read_embeddings(uri).features
        logit = 0.0
        for name, exported in features.items():
            row_of = {token: i for i, token in enumerate(exported.vocabulary)}
            logit += np.array([exported.weights[row_of[r[name]]].sum() for r in rows])
        served = checks.predict(os.path.join(uri, artifacts.SERVING_DIR), examples)
        expected = 1 / (1 + np.exp(-logit))
        np.testing.assert_allclose(served, expected, rtol=0, atol=1e-6, err_msg=strategy)


def test_every_strategy_serves_with_the_full_retrains_graph_and_variables(exports):
    for family in FAMILIES:
        full = exports[family, "full"].loaded
        for strategy in REGISTRY:
            loaded = exports[family, strategy].loaded
            assert serving_ops(loaded) == serving_ops(full), (family, strategy)
            served = loaded.signatures["serving_default"].variables
            shapes = sorted(tuple(v.shape) for v in served)
            full_served = full.signatures["serving_default"].variables
            assert shapes == sorted(tuple(v.shape) for v in full_served)
            assert len(served) == len(exports[family, strategy].parents) + (family == "mf"), (
                "one variable per table, plus the mf global bias"
            )


@pytest.mark.parametrize("family", FAMILIES)
def test_the_served_tables_hold_the_parent_rows_bit_for_bit(exports, family):
    for strategy in INCREMENTAL:
        found = exports[family, strategy]
        tables = found.loaded.model.embeddings
        assert set(tables) == set(found.parents)
        for name, parent in found.parents.items():
            served = tables[name].embeddings.numpy()
            assert np.max(np.abs(served[: len(parent)] - parent)) == 0.0, (strategy, name)
            trained = found.trained.model.embeddings[name].full_table().numpy()
            assert np.array_equal(served, trained), (strategy, name)


def test_the_served_mf_global_bias_is_the_parents(exports):
    for strategy in INCREMENTAL:
        served = exports["mf", strategy].loaded.model.global_bias.value.numpy()
        assert np.abs(served - mf.GLOBAL_BIAS) == 0.0, strategy


@pytest.mark.parametrize("family", FAMILIES)
def test_served_predictions_and_slices_equal_the_trained_models_bit_for_bit(exports, family):
    examples = checks.to_examples(raw_rows(), SPEC)
    for strategy in REGISTRY:
        found = exports[family, strategy]
        loaded = found.loaded
        features = loaded.signatures[export.TRANSFORM_SIGNATURE](examples=examples)
        served = loaded.signatures["serving_default"](examples=examples)
        expected = found.trained.model(features).numpy()
        assert np.array_equal(served[export.PREDICTION_KEY].numpy(), expected), strategy
        flags = loaded.signatures[export.SLICE_SIGNATURE](examples=examples)
        new_level = found.trained.model.has_new_level(features).numpy()
        assert 0 < new_level.sum() < len(new_level), "the rows mix old and new levels"
        assert flags[export.NEW_LEVEL_KEY].numpy()[:, 0].tolist() == new_level.tolist(), strategy


def test_the_trainer_reads_the_vocabularies_tft_wrote(tft_output):
    expected = {
        f.name: [t.decode() for t in tft_output.vocabulary_by_name(f.vocabulary_name)]
        for f in SPEC.categorical
    }
    assert sorted(expected["item"]) == sorted([*OLD["item"], *NEW["item"]])
    assert current_vocabularies(tft_output, SPEC) == expected
