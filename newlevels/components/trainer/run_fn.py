"""The TFX Trainer entry point: a thin adapter from FnArgs to `train` and export."""

from __future__ import annotations

import os
import tempfile

import tensorflow_transform as tft
from tfx import v1 as tfx

from newlevels.components.trainer import artifacts, distribution, export, parent, train


def run_fn(fn_args: tfx.components.FnArgs) -> None:
    """Trains the incremental candidate or the full baseline, per custom_config."""
    settings = train.TrainerSettings.from_custom_config(fn_args.custom_config)
    tft_output = tft.TFTransformOutput(fn_args.transform_graph_path)
    parent_uri = artifacts.model_root(fn_args.base_model) if fn_args.base_model else None

    trained = train.train(settings, fn_args.train_files, tft_output, parent_uri)
    if trained.parent_uri is not None:
        parent.check_frozen(trained, artifacts.read_embeddings(trained.parent_uri))
    # Saving is collective under multi-worker training, so every replica saves;
    # only the chief writes into the Model artifact, the others into scratch.
    if distribution.is_chief(trained.model.distribute_strategy.cluster_resolver):
        export.export_trained(trained, tft_output, fn_args.serving_model_dir)
    else:
        scratch = tempfile.mkdtemp(prefix="newlevels-replica-")
        export.export_trained(trained, tft_output, os.path.join(scratch, artifacts.SERVING_DIR))
