"""The gate: candidate (incremental) against baseline (full retrain), sliced by new levels."""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow_model_analysis as tfma

from newlevels.components.evaluation.metrics import BASELINE, CANDIDATE
from newlevels.components.trainer.export import (
    PREDICTION_KEY,
    SLICE_SIGNATURE,
    TRANSFORM_SIGNATURE,
    slice_keys,
)
from newlevels.pipeline.config import GateConfig

AUC = "AUC"


def gate_threshold(gate: GateConfig) -> tfma.MetricThreshold:
    """AUC at least `min_auc`, and at most `max_auc_drop` below the baseline's."""
    return tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": gate.min_auc}),
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER,
            absolute={"value": -gate.max_auc_drop},
        ),
    )


def eval_config(label_key: str, gate: GateConfig, feature_names: Sequence[str]) -> tfma.EvalConfig:
    """The Evaluator's config.

    The candidate's `slice_features` signature marks rows holding a level it
    added (`new_level`), and rows whose level of each feature it added
    (`new_level_<feature>`), so the slices follow the candidate's own notion of
    "new".

    Args:
        label_key: the label column.
        gate: the blessing thresholds (on the overall slice only).
        feature_names: the categorical features, each sliced on its own flag.

    Returns:
        The EvalConfig.
    """
    common = {
        "signature_name": "serving_default",
        "label_key": label_key,
        "prediction_key": PREDICTION_KEY,
        "model_type": tfma.TF_GENERIC,
    }
    return tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(
                name=CANDIDATE, preprocessing_function_names=[SLICE_SIGNATURE], **common
            ),
            # TFMA 0.47 stores preprocessing outputs un-keyed when a single model
            # has any, and the slicer then finds none of them; giving the
            # baseline its (slice-free) transform signature keeps them keyed.
            tfma.ModelSpec(
                name=BASELINE,
                is_baseline=True,
                preprocessing_function_names=[TRANSFORM_SIGNATURE],
                **common,
            ),
        ],
        slicing_specs=[
            tfma.SlicingSpec(),
            *(tfma.SlicingSpec(feature_keys=[key]) for key in slice_keys(feature_names)),
        ],
        metrics_specs=[
            tfma.MetricsSpec(
                metrics=[
                    tfma.MetricConfig(class_name="ExampleCount"),
                    tfma.MetricConfig(class_name="BinaryAccuracy"),
                    tfma.MetricConfig(
                        class_name=AUC,
                        # The gate reads the overall slice. The old-level slice
                        # is the parent model by construction (its rows are
                        # frozen), so it measures staleness, not this candidate.
                        per_slice_thresholds=[
                            tfma.PerSliceMetricThreshold(
                                slicing_specs=[tfma.SlicingSpec()], threshold=gate_threshold(gate)
                            )
                        ],
                    ),
                ]
            )
        ],
    )
