"""The TFX Trainer entry point: a thin adapter from FnArgs to `train` and export."""

from __future__ import annotations

import tempfile

import tensorflow_transform as tft
from tfx import v1 as tfx

from components.trainer import artifacts, distribution, export, train


def run_fn(fn_args: tfx.components.FnArgs) -> None:
    """Trains the incremental candidate or the full baseline, per custom_config."""
    settings = train.TrainerSettings.from_custom_config(fn_args.custom_config)
    tft_output = tft.TFTransformOutput(fn_args.transform_graph_path)
    parent_uri = artifacts.model_root(fn_args.base_model) if fn_args.base_model else None

    trained = train.train(settings, fn_args.train_files, tft_output, parent_uri)
    if trained.parent_uri is not None:
        train.check_frozen(trained, artifacts.read_embeddings(trained.parent_uri))

    serving_features = settings.data_spec.feature_names
    module = export.ServingModule(trained.model, tft_output, serving_features)
    # Saving is collective under multi-worker training, so every replica saves;
    # only the chief writes into the Model artifact, the others into scratch.
    chief = distribution.is_chief(trained.model.distribute_strategy.cluster_resolver)
    if not chief:
        export.export_serving_model(module, tempfile.mkdtemp(prefix="newlevels-replica-"))
        return
    export.export_serving_model(module, fn_args.serving_model_dir)
    artifacts.write_embeddings(
        artifacts.model_root(fn_args.serving_model_dir),
        trained.manifest(),
        trained.feature_rows(),
    )
