"""Every strategy exports the same serving signatures and the same `embeddings/` layout."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from components.trainer import artifacts, export
from components.trainer.settings import Role, TrainerSettings
from components.trainer.strategies import REGISTRY
from components.trainer.train import TrainedModel
from tests import pipeline_checks as checks
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


def raw_rows() -> list[dict[str, str]]:
    items, users = [*OLD["item"], *NEW["item"]], [*OLD["user"], *NEW["user"]]
    return [
        {"id": f"r{k}", "item": items[k % len(items)], "user": users[k % len(users)], "label": "1"}
        for k in range(12)
    ]


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict[str, str]:
    """Each strategy's tiny trained model, exported by the Trainer's export function."""
    root = tmp_path_factory.mktemp("exports")
    tft_output = write_transform_graph(SPEC, raw_rows(), str(root / "transform"), str(root / "tmp"))
    uris = {}
    for strategy in REGISTRY:
        model = build(strategy, parent_tables())
        model.compile(optimizer=keras.optimizers.RMSprop(0.05), loss="binary_crossentropy")
        model.fit(mixed_batches(), epochs=1, verbose=0)
        settings = TrainerSettings(data_spec=SPEC, role=Role.INCREMENTAL, strategy=strategy)
        trained = TrainedModel(settings, model, level_diffs(), 256, 256, "parent")
        uris[strategy] = str(root / strategy)
        export.export_trained(trained, tft_output, os.path.join(uris[strategy], "Format-Serving"))
    return uris


def signature_shapes(uri: str) -> dict[str, tuple]:
    loaded = tf.saved_model.load(os.path.join(uri, artifacts.SERVING_DIR))
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
                found[key] = tuple(sorted(artifacts.read_embeddings(uri).manifest))
    return found


def test_every_strategy_serves_the_same_signatures(exports):
    shapes = {strategy: signature_shapes(uri) for strategy, uri in exports.items()}
    assert set(shapes["split"]) == {"serving_default", "transform_features", "slice_features"}
    for strategy, found in shapes.items():
        assert found == shapes["split"], strategy


def test_every_strategy_exports_the_same_embeddings_layout(exports):
    layouts = {strategy: embedding_files(uri) for strategy, uri in exports.items()}
    reference = layouts["split"]
    assert reference[os.path.join("embeddings", "item", "weights.npy")] == (
        (len(OLD["item"]) + len(NEW["item"]), 3),
        np.float32,
    )
    for strategy, layout in layouts.items():
        assert layout == reference, strategy


def test_every_exported_model_serves_its_exported_rows(exports):
    rows = raw_rows()
    examples = checks.to_examples(rows, SPEC)
    for strategy, uri in exports.items():
        features = artifacts.read_embeddings(uri).features
        logit = 0.0
        for name, exported in features.items():
            row_of = {token: i for i, token in enumerate(exported.vocabulary)}
            logit += np.array([exported.weights[row_of[r[name]]].sum() for r in rows])
        served = checks.predict(os.path.join(uri, artifacts.SERVING_DIR), examples)
        np.testing.assert_allclose(served, 1 / (1 + np.exp(-logit)), rtol=0, atol=1e-6), strategy
