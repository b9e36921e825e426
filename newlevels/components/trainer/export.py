"""Serving export: a SavedModel that parses tf.Examples and applies the transform graph.

The SavedModel serves the model's folded copy (`folding.fold`): one plain table
per feature whatever the training strategy, so an incremental model serves
with the same graph as the full retrain.
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf
import tensorflow_transform as tft
from tf_keras.src.saving.legacy.saved_model.utils import keras_option_scope

from newlevels.components.trainer import artifacts
from newlevels.components.trainer.folding import fold
from newlevels.components.trainer.levels import OOV_ROW
from newlevels.components.trainer.model import EmbeddingModel
from newlevels.components.trainer.train import TrainedModel
from newlevels.contracts.signatures import (
    COHORT_KEY,
    NEW,
    NEW_LEVEL_KEY,
    OLD,
    PREDICTION_KEY,
    SERVING_SIGNATURE,
    SLICE_SIGNATURE,
    TRANSFORM_SIGNATURE,
    UNSEEN,
    cohort_key,
    new_level_key,
)


def cohorts(new: tf.Tensor, unseen: tf.Tensor) -> tf.Tensor:
    """Each row's cohort (`signatures.COHORTS`): new, else unseen, else old."""
    return tf.where(new, NEW, tf.where(unseen, UNSEEN, OLD))


def served_table_key(table: str) -> str:
    """The checkpoint key, in the SavedModel's variables, of the table it serves `table` from.

    `ServingModule.model` is the folded model, whose `embeddings[table]` is a
    `FoldedTable` holding `[oov; rows]` in its `embeddings` variable.
    """
    return f"model/embeddings/{table}/embeddings/.ATTRIBUTES/VARIABLE_VALUE"


#: every signature takes a batch of serialized tf.Examples.
EXAMPLES = [tf.TensorSpec([None], tf.string, name="examples")]


class ServingModule(tf.Module):
    """Holds the model and the transform layer, and defines the signatures.

    `model` is what the signatures call: pass the folded copy (`folding.fold`).
    The signatures are traced with AutoGraph off: they hold no Python control
    flow, and converting Keras's and tf.Transform's layer code cost the first
    export in a Trainer process about 2 s of its fixed overhead (B3).
    """

    def __init__(
        self,
        model: EmbeddingModel,
        tft_output: tft.TFTransformOutput,
        serving_features: Sequence[str],
    ) -> None:
        super().__init__()
        self.model = model
        self.tft_layer = tft_output.transform_features_layer()
        raw_spec = tft_output.raw_feature_spec()
        self._raw_spec = {name: raw_spec[name] for name in serving_features}
        self._features = tuple(model.feature_names)

    def _transformed(self, serialized: tf.Tensor) -> dict[str, tf.Tensor]:
        raw = tf.io.parse_example(serialized, self._raw_spec)
        transformed = self.tft_layer(raw)
        return {name: tf.reshape(transformed[name], [-1]) for name in self._features}

    @tf.function(input_signature=EXAMPLES, autograph=False)
    def serve(self, serialized: tf.Tensor) -> dict[str, tf.Tensor]:
        return {PREDICTION_KEY: self.model(self._transformed(serialized))}

    @tf.function(input_signature=EXAMPLES, autograph=False)
    def transform_features(self, serialized: tf.Tensor) -> dict[str, tf.Tensor]:
        return self._transformed(serialized)

    @tf.function(input_signature=EXAMPLES, autograph=False)
    def slice_features(self, serialized: tf.Tensor) -> dict[str, tf.Tensor]:
        """Marks each row's cohort (what the Evaluator slices on; see `contracts.signatures`).

        `new_level` (1/0) marks rows holding any level this model added,
        `new_level_<feature>` rows whose `feature` level was added;
        `level_cohort` is the row's cohort (new, unseen or old) and
        `level_cohort_<feature>` the cohort of its `feature` level alone.
        """
        transformed = self._transformed(serialized)
        flags = self.model.new_level_flags(transformed)
        unseen = {name: rows == OOV_ROW for name, rows in self.model.rows(transformed).items()}
        any_new = tf.reduce_any(tf.stack(list(flags.values()), axis=0), axis=0)
        any_unseen = tf.reduce_any(tf.stack(list(unseen.values()), axis=0), axis=0)
        keyed = {
            NEW_LEVEL_KEY: tf.cast(any_new, tf.int64),
            COHORT_KEY: cohorts(any_new, any_unseen),
            **{new_level_key(n): tf.cast(f, tf.int64) for n, f in flags.items()},
            **{cohort_key(n): cohorts(flags[n], unseen[n]) for n in flags},
        }
        # [batch, 1]: TFMA slices on per-example arrays, not on scalars.
        return {key: value[:, tf.newaxis] for key, value in keyed.items()}


def export_serving_model(module: ServingModule, directory: str) -> None:
    """Saves `module` with `serving_default`, `transform_features` and `slice_features`.

    Keras's layer traces are not saved (`save_traces=False`, the scope
    `keras.Model.save` uses for it): every reader of this SavedModel (TFMA, the
    Pusher's consumers, `newlevels`) calls the three signatures, and tracing each
    layer's call functions for Keras's own reloading cost the first export in a
    Trainer process about 3 s (B3's fixed overhead).
    """
    with keras_option_scope(save_traces=False):
        tf.saved_model.save(
            module,
            directory,
            signatures={
                SERVING_SIGNATURE: module.serve,
                TRANSFORM_SIGNATURE: module.transform_features,
                SLICE_SIGNATURE: module.slice_features,
            },
        )


def export_trained(
    trained: TrainedModel, tft_output: tft.TFTransformOutput, serving_model_dir: str
) -> None:
    """Writes a trained model's SavedModel (its folded copy) and its `embeddings/` folder.

    Args:
        trained: the fitted model and its bookkeeping.
        tft_output: this run's Transform output (the serving graph parses raw examples).
        serving_model_dir: the Model artifact's `Format-Serving` directory.
    """
    serving_features = trained.settings.data_spec.feature_names
    module = ServingModule(
        fold(trained.model, trained.settings.family), tft_output, serving_features
    )
    export_serving_model(module, serving_model_dir)
    artifacts.write_embeddings(
        artifacts.model_root(serving_model_dir),
        trained.manifest(),
        trained.feature_rows(),
        trained.model.shared_weights(),
        {name: a.pending for name, a in trained.admissions.items()},
        trained.initial_rows,
        None if trained.model.context is None else trained.model.context.values(),
    )
