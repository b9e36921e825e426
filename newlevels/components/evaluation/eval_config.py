"""The Evaluator's config: candidate against the full retrain on cohort slices, with the gate.

The gate's thresholds (`contracts.gate.thresholds`) become TFMA per-slice
thresholds on the AUC, so TFMA's validation result states each of them; the
decision component reads the same gate back from the same EvalConfig
(`gate_of`), so one per-run value (the `eval_config` runtime parameter on
Kubeflow) sets both. The metrics (AUC, accuracy, row count per model) are one
TFMA custom metric, `one_pass.GateMetrics`: the stock metrics' values at a
fraction of their cost per row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import tensorflow_model_analysis as tfma
from google.protobuf import json_format

from newlevels.components.evaluation import one_pass
from newlevels.components.evaluation.metrics import BASELINE, CANDIDATE, SLICES
from newlevels.contracts import gate as gates
from newlevels.contracts.signatures import (
    COHORT_KEY,
    PREDICTION_KEY,
    SERVING_SIGNATURE,
    SLICE_SIGNATURE,
    TRANSFORM_SIGNATURE,
    cohort_key,
)

#: the metric classes whose thresholds are the gate's: TFMA's stock AUC (an
#: EvalConfig recorded before `one_pass`) and `one_pass.GateMetrics`.
AUC_CLASSES = ("AUC", one_pass.CLASS_NAME)


def slicing_spec(slice_name: str) -> tfma.SlicingSpec:
    """The SlicingSpec of one slice of `metrics.SLICES` (overall, or one cohort)."""
    return tfma.SlicingSpec(feature_values={key: value for key, value in SLICES[slice_name]})


def metric_threshold(
    threshold: gates.Threshold, recorded: Mapping[str, float | None] | None = None
) -> tfma.MetricThreshold:
    """A gate threshold as TFMA's: a value floor, a change no lower than -bound, or
    (recorded) a floor at the recorded full retrain's AUC on its slice minus the bound."""
    if threshold.kind in (gates.VALUE, gates.RECORDED):
        bound = threshold.bound
        if threshold.kind == gates.RECORDED:
            bound = recorded[threshold.slice] - threshold.bound
        return tfma.MetricThreshold(
            value_threshold=tfma.GenericValueThreshold(lower_bound={"value": bound})
        )
    return tfma.MetricThreshold(
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER,
            absolute={"value": -threshold.bound},
        )
    )


def eval_config(
    label_key: str,
    gate: gates.Gate,
    feature_names: Sequence[str],
    recorded: Mapping[str, float | None] | None = None,
) -> tfma.EvalConfig:
    """The Evaluator's config.

    The candidate's `slice_features` signature gives each row's cohort
    (`level_cohort`: new, unseen or old) and each feature level's
    (`level_cohort_<feature>`), so the slices follow the candidate's own notion
    of "new" and "unseen".

    Args:
        label_key: the label column.
        gate: the thresholds (the policy is not TFMA's: it travels apart).
        feature_names: the categorical features, each sliced on its own cohort.
        recorded: None when the span trains its full retrain (the baseline
            model); else the span skipped it and this holds the last recorded
            full retrain's AUCs by slice name: the candidate is evaluated alone,
            against floors at those AUCs minus the tolerance
            (`gates.thresholds(gate, fresh=False)`; a slice without a recorded
            AUC gets none).

    Returns:
        The EvalConfig.
    """
    common = {
        "signature_name": SERVING_SIGNATURE,
        "label_key": label_key,
        "prediction_key": PREDICTION_KEY,
        "model_type": tfma.TF_GENERIC,
    }
    candidate = tfma.ModelSpec(
        name=CANDIDATE, preprocessing_function_names=[SLICE_SIGNATURE], **common
    )
    # TFMA 0.47 stores preprocessing outputs un-keyed when a single model
    # has any, and the slicer then finds none of them; giving the
    # baseline its (slice-free) transform signature keeps them keyed.
    baseline = tfma.ModelSpec(
        name=BASELINE,
        is_baseline=True,
        preprocessing_function_names=[TRANSFORM_SIGNATURE],
        **common,
    )
    fresh = recorded is None
    checked = [
        threshold
        for threshold in gates.thresholds(gate, fresh=fresh)
        if threshold.kind != gates.RECORDED or recorded.get(threshold.slice) is not None
    ]
    return tfma.EvalConfig(
        model_specs=[candidate, baseline] if fresh else [candidate],
        slicing_specs=[
            tfma.SlicingSpec(),
            tfma.SlicingSpec(feature_keys=[COHORT_KEY]),
            *(tfma.SlicingSpec(feature_keys=[cohort_key(name)]) for name in feature_names),
        ],
        metrics_specs=[
            tfma.MetricsSpec(
                metrics=[
                    # `auc`, `binary_accuracy` and `example_count` per model,
                    # TFMA's values in one pass per slice (`one_pass`).
                    tfma.MetricConfig(
                        class_name=one_pass.CLASS_NAME,
                        module=one_pass.MODULE,
                        per_slice_thresholds=[
                            tfma.PerSliceMetricThreshold(
                                slicing_specs=[slicing_spec(threshold.slice)],
                                threshold=metric_threshold(threshold, recorded),
                            )
                            for threshold in checked
                        ],
                    ),
                ]
            )
        ],
    )


def slice_name(spec: tfma.SlicingSpec) -> str | None:
    """The name in `metrics.SLICES` of the slice `spec` selects (None: not one of them)."""
    found = tuple(sorted(spec.feature_values.items()))
    return next((name for name, key in SLICES.items() if tuple(sorted(key)) == found), None)


def gate_of(config: tfma.EvalConfig | str, policy: str) -> gates.Gate:
    """The gate an EvalConfig's AUC thresholds express (the inverse of `eval_config`).

    Args:
        config: the EvalConfig, or its JSON (as a runtime parameter carries it).
        policy: the policy, which travels apart from the EvalConfig.

    Raises:
        contracts.gate.GateError: if the EvalConfig lacks one of the gate's thresholds.
    """
    if isinstance(config, str):
        config = json_format.Parse(config, tfma.EvalConfig())
    found: dict[tuple[str, str], float] = {}
    for spec in config.metrics_specs:
        for metric in spec.metrics:
            if metric.class_name not in AUC_CLASSES:
                continue
            for sliced in metric.per_slice_thresholds:
                threshold = sliced.threshold
                if threshold.HasField("value_threshold"):
                    kind, bound = gates.VALUE, threshold.value_threshold.lower_bound.value
                else:
                    kind, bound = gates.CHANGE, -threshold.change_threshold.absolute.value
                for slicing in sliced.slicing_specs:
                    name = slice_name(slicing)
                    if name is not None:
                        found[(name, kind)] = bound
    return gates.gate_from_thresholds(found, policy)
