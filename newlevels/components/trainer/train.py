"""Plain, testable training steps behind `run_fn`: plan the levels, build, fit, export."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
from absl import logging

from newlevels.components.trainer import admission, artifacts, data, levels, model
from newlevels.components.trainer.distribution import distribution_strategy
from newlevels.components.trainer.parent import check_parent, parent_mismatch
from newlevels.components.trainer.planning import admit_levels, current_vocabularies, plan_levels
from newlevels.components.trainer.settings import Role, TrainerSettings  # noqa: F401 (re-exported)
from newlevels.components.trainer.strategies import get_strategy
from newlevels.components.trainer.tables import build_table_set


@dataclasses.dataclass
class TrainedModel:
    """A fitted model and what the run did, for export and the manifest."""

    settings: TrainerSettings
    model: model.EmbeddingModel
    diffs: dict[str, levels.LevelDiff]
    rows_trained: int
    rows_total: int
    parent_uri: str | None
    #: per feature, which new levels were admitted (empty without a parent).
    admissions: dict[str, admission.Admission] = dataclasses.field(default_factory=dict)
    #: passes over the training rows (`TrainingOptions.epochs_for`).
    epochs: int = 0

    def feature_rows(self) -> dict[str, artifacts.FeatureRows]:
        """Every table's rows (vectors and, for `mf`, biases) by table name."""
        return {
            name: artifacts.FeatureRows.from_table(
                self.diffs[self.model.table_features[name]].merged, table.full_table().numpy()
            )
            for name, table in self.model.embeddings.items()
        }

    def manifest(self) -> dict[str, Any]:
        return {
            "role": self.settings.role.value,
            "strategy": self.settings.strategy,
            "model_family": self.settings.family.describe(),
            "tables": dict(self.model.table_features),
            "shared": sorted(self.model.shared_weights()),
            "data_spec": self.settings.data_spec.to_dict(),
            "features": {
                name: {
                    "old_levels": diff.old_levels,
                    "new_levels": diff.new_levels,
                    "vocab_size": diff.vocab_size,
                    "vanished_levels": len(diff.vanished),
                    "embedding_dim": int(self.model.embeddings[name].full_table().shape[1]),
                }
                for name, diff in self.diffs.items()
            },
            "admission": {
                name: {
                    "admitted": len(a.admitted),
                    "deferred": a.deferred,
                    "pending": len(a.pending),
                    "min_count": self.settings.options.min_count,
                }
                for name, a in self.admissions.items()
            },
            "rows_trained": self.rows_trained,
            "rows_total": self.rows_total,
            "epochs": self.epochs,
            "parent_model_uri": self.parent_uri,
        }


def build_model(
    settings: TrainerSettings,
    diffs: Mapping[str, levels.LevelDiff],
    parent_tables: Mapping[str, np.ndarray] | None,
    parent_shared: Mapping[str, np.ndarray] | None = None,
) -> model.EmbeddingModel:
    """Builds and compiles the model under the settings' `tf.distribute` strategy.

    Variables and the optimizer are created in the strategy's scope, so `fit`
    then runs replicated (Keras keeps the strategy the model was built under).

    Args:
        settings: trainer settings (the model family, strategy and seed).
        diffs: each feature's level diff.
        parent_tables: the parent's tables to freeze (by table name), or None.
        parent_shared: the parent's shared weights (e.g. the `mf` global bias), or None.

    Returns:
        The compiled model.
    """
    family = settings.family
    # Shared weights train in a model without a parent; with one, only if asked.
    train_shared = parent_tables is None or settings.options.unfreeze_shared
    with distribution_strategy(settings.options.distribution).scope():
        tables = build_table_set(
            family.table_specs(settings.data_spec),
            diffs,
            get_strategy(settings.strategy),
            parent_tables,
            settings.seed,
        )
        keras_model = family.build(tables, parent_shared, train_shared)
        model.compile_model(
            keras_model, settings.options.learning_rate, settings.options.sparse_updates
        )
    return keras_model


def train(
    settings: TrainerSettings,
    train_patterns: Sequence[str],
    tft_output: tft.TFTransformOutput,
    parent_uri: str | None,
) -> TrainedModel:
    """Builds and fits one model.

    An incremental run with a parent freezes the parent's rows and trains on the
    rows holding at least one new level only; a run without a parent (the first
    run, or the full-retrain baseline) trains every row on every training row.
    With `unfreeze_shared`, shared weights (the `mf` global bias) train too, and
    a `replay_fraction` of the rows without a new level is mixed back in.

    Args:
        settings: trainer settings.
        train_patterns: file patterns of the transformed training examples.
        tft_output: this run's Transform output.
        parent_uri: the parent Model artifact's URI, or None.

    Returns:
        The fitted model and its bookkeeping.
    """
    spec = settings.data_spec
    parent = None
    if parent_uri is not None and settings.role is Role.INCREMENTAL:
        parent = artifacts.read_embeddings(parent_uri)
        if settings.options.fresh_on_mismatch and parent_mismatch(settings, parent):
            logging.warning("Previous model %s does not fit: training a fresh model.", parent_uri)
            parent, parent_uri = None, None
        else:
            check_parent(settings, parent, parent_uri)
            logging.info("Extending previous model %s", parent_uri)
    if parent is None:
        parent_uri = None
        logging.info("No previous model to extend: training every level on every row.")

    diffs = plan_levels(spec, current_vocabularies(tft_output, spec), parent)
    admissions = {}
    if parent is not None:
        diffs, admissions = admit_levels(settings, diffs, parent, train_patterns, tft_output)
    parent_tables = None if parent is None else {n: r.table for n, r in parent.features.items()}
    parent_shared = None if parent is None else parent.shared
    keras_model = build_model(settings, diffs, parent_tables, parent_shared)

    keep = None if parent is None else keras_model.has_new_level
    replay_fraction = settings.options.replay_fraction if settings.options.unfreeze_shared else 0.0
    rows = data.load_rows(
        train_patterns,
        tft_output.transformed_feature_spec(),
        spec.feature_names,
        keep,
        replay_fraction,
    )
    epochs = settings.options.epochs_for(settings.role, extends_parent=parent is not None)
    logging.info("Training on %d of %d rows for %d epochs.", rows.kept, rows.read, epochs)
    if rows.kept:
        tf.keras.utils.set_random_seed(settings.seed)
        history = keras_model.fit(
            data.training_batches(rows.dataset, settings.options.batch_size, settings.seed),
            epochs=epochs,
            verbose=0,
        )
        logging.info("Training history: %s", history.history)
    else:
        # Still build the variables so the model can be exported unchanged.
        keras_model({name: tf.constant([""]) for name in spec.feature_names})
    return TrainedModel(
        settings, keras_model, diffs, rows.kept, rows.read, parent_uri, admissions, epochs
    )
