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
from newlevels.components.trainer.model import EmbeddingModel
from newlevels.components.trainer.train import TrainedModel

PREDICTION_KEY = "probability"
NEW_LEVEL_KEY = "new_level"
SLICE_SIGNATURE = "slice_features"
TRANSFORM_SIGNATURE = "transform_features"


def new_level_key(feature: str) -> str:
    """The slice key marking rows whose `feature` level the model added."""
    return f"{NEW_LEVEL_KEY}_{feature}"


def slice_keys(feature_names: Sequence[str]) -> tuple[str, ...]:
    """Every key of the `slice_features` signature: any feature, then each feature."""
    return (NEW_LEVEL_KEY, *(new_level_key(name) for name in feature_names))


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
        """Marks rows holding a level this model added (what the Evaluator slices on).

        `new_level` marks rows holding any added level, `new_level_<feature>`
        rows whose `feature` level was added.
        """
        flags = self.model.new_level_flags(self._transformed(serialized))
        any_new = tf.reduce_any(tf.stack(list(flags.values()), axis=0), axis=0)
        keyed = {NEW_LEVEL_KEY: any_new, **{new_level_key(n): f for n, f in flags.items()}}
        # [batch, 1]: TFMA slices on per-example arrays, not on scalars.
        return {key: tf.cast(value, tf.int64)[:, tf.newaxis] for key, value in keyed.items()}


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
                "serving_default": module.serve,
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
    )
