"""The summary's parent check, and the per-feature slice flags, on exported SavedModels."""

from __future__ import annotations

import itertools
import os

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from newlevels.components.ingest.csv_rows import Row
from newlevels.components.trainer import artifacts, export
from newlevels.components.trainer.levels import diff_levels
from newlevels.components.trainer.model import AdditiveEmbeddingModel
from newlevels.components.trainer.settings import Role, TrainerSettings, TrainingOptions
from newlevels.components.trainer.strategies import get_strategy
from newlevels.components.trainer.tables import build_tables
from newlevels.components.trainer.train import TrainedModel
from newlevels.contracts import signatures
from newlevels.pipeline import predictions
from tests.test_export_shapes import raw_rows
from tests.test_strategies import DIM, NEW, OLD, SPEC, build, level_diffs, mixed_batches
from tests.transform_graph import write_transform_graph


def every_pair() -> list[Row]:
    """One row per (item, user) pair of old and new tokens."""
    items, users = [*OLD["item"], *NEW["item"]], [*OLD["user"], *NEW["user"]]
    return [
        Row(f"r{k}", {"item": item, "user": user}, k % 2)
        for k, (item, user) in enumerate(itertools.product(items, users))
    ]


def export_model(model, diffs, strategy: str, tft_output, uri: str) -> str:
    options = TrainingOptions(embedding_dim=DIM)
    settings = TrainerSettings(SPEC, Role.INCREMENTAL, strategy, options)
    trained = TrainedModel(settings, model, diffs, 256, 256, None)
    export.export_trained(trained, tft_output, os.path.join(uri, artifacts.SERVING_DIR))
    return uri


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, str]:
    """A parent on OLD, a `split` child that extends it with NEW, and a `full` retrain of it."""
    root = tmp_path_factory.mktemp("old-rows")
    tft_output = write_transform_graph(SPEC, raw_rows(), str(root / "transform"), str(root / "tmp"))
    parent_diffs = {name: diff_levels(name, (), tokens) for name, tokens in OLD.items()}
    tables = build_tables(SPEC, parent_diffs, get_strategy("full"), None, 5, dim=DIM)
    parent = AdditiveEmbeddingModel(tables)
    parent({name: tf.constant([tokens[0]]) for name, tokens in OLD.items()})
    tables = {name: parent.embeddings[name].full_table().numpy() for name in OLD}
    uris = {"parent": export_model(parent, parent_diffs, "full", tft_output, str(root / "p"))}
    for strategy in ("split", "full"):
        child = build(strategy, tables)
        child.compile(optimizer=keras.optimizers.RMSprop(0.05), loss="binary_crossentropy")
        child.fit(mixed_batches(), epochs=2, verbose=0)
        # An extension refits its OOV rows to its own training rows: a row with an
        # unseen level is served differently from the parent, and is not an old row.
        for name in OLD:
            child.embeddings[name].set_oov_row(np.full([DIM], 0.25, np.float32))
        uris[strategy] = export_model(
            child, level_diffs(), strategy, tft_output, str(root / strategy)
        )
    return uris


def test_a_split_child_predicts_its_parents_probabilities_bit_for_bit_on_old_rows(models):
    rows = every_pair()
    only_old = [r for r in rows if all(r.tokens[n] in OLD[n] for n in OLD)]
    # Rows with an unseen level read the child's refitted OOV row: they move, and
    # are not counted as old rows (nor are rows with a new level).
    rows += [
        Row(f"u{k}", {"item": item, "user": UNSEEN["user"]}, k % 2)
        for k, item in enumerate([*OLD["item"], UNSEEN["item"]])
    ]
    child, parent = (predictions.predict(models[m], rows) for m in ("split", "parent"))
    unseen = child.cohort == signatures.UNSEEN
    assert unseen.sum() == len(OLD["item"]) + 1
    assert (child.probability[unseen] != parent.probability[unseen]).any()
    change = predictions.old_level_prediction_change(models["split"], models["parent"], rows)
    assert change == {"rows": len(only_old), "max_abs": 0.0}
    # The same check sees a model whose old rows moved.
    moved = predictions.old_level_prediction_change(models["full"], models["parent"], rows)
    assert moved["rows"] == len(only_old) and moved["max_abs"] > 0.0


#: a token of each feature that no model saw (served through the OOV row).
UNSEEN = {"item": "an item never seen", "user": "a user never seen"}


def cohort(tokens: dict[str, str], features) -> str:
    """The cohort `contracts.signatures` defines: new, else unseen, else old."""
    if any(tokens[n] in NEW[n] for n in features):
        return signatures.NEW
    if any(tokens[n] == UNSEEN[n] for n in features):
        return signatures.UNSEEN
    return signatures.OLD


def test_slice_features_mark_each_rows_cohort_per_feature_and_overall(models):
    items = [*OLD["item"], *NEW["item"], UNSEEN["item"]]
    users = [*OLD["user"], *NEW["user"], UNSEEN["user"]]
    rows = [
        Row(f"r{k}", {"item": item, "user": user}, k % 2)
        for k, (item, user) in enumerate(itertools.product(items, users))
    ]
    loaded = tf.saved_model.load(os.path.join(models["split"], artifacts.SERVING_DIR))
    flags = loaded.signatures[signatures.SLICE_SIGNATURE](
        examples=predictions.serialized_examples(rows)
    )
    assert set(flags) == set(signatures.slice_keys(SPEC.feature_names))

    def served(key: str) -> list:
        values = flags[key].numpy()[:, 0].tolist()
        return [v.decode() if isinstance(v, bytes) else v for v in values]

    for name in SPEC.feature_names:
        expected = [int(r.tokens[name] in NEW[name]) for r in rows]
        assert served(signatures.new_level_key(name)) == expected
        assert served(signatures.cohort_key(name)) == [cohort(r.tokens, [name]) for r in rows]
    any_new = [int(any(r.tokens[n] in NEW[n] for n in NEW)) for r in rows]
    assert served(signatures.NEW_LEVEL_KEY) == any_new
    cohorts = [cohort(r.tokens, SPEC.feature_names) for r in rows]
    assert served(signatures.COHORT_KEY) == cohorts
    assert set(cohorts) == set(signatures.COHORTS)
