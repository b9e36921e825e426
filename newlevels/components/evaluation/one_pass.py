"""`GateMetrics`: the Evaluator's AUC, accuracy and row count per model in one pass per slice.

TFMA's stock `AUC`, `BinaryAccuracy` and `ExampleCount` each run a combiner
per model and slice, and each of those extracts the row's label and prediction
again through `metric_util.to_label_prediction_example_weight`; profiled on
MovieLens span 2 (`benchmarks/evaluator/`), those extractions were most of the
Evaluator's time. `GateMetrics` runs one combiner per slice for every model: it
extracts each model's (label, prediction, weight) once, through that same TFMA
function with the same arguments, and fills

- the calibration histogram that TFMA's AUC is derived from, through TFMA's own
  histogram combiner (its bucketing, merge and output) and under TFMA's own key,
  so TFMA's derived computations turn it into the same confusion matrices and
  the same `auc` (10,000 thresholds, ROC, interpolation): the gate's AUCs, and
  so its decisions, are the stock AUC's by construction;
- the confusion matrix at 0.5 as TFMA's `BinaryAccuracy` counts it (fractional
  labels; a prediction above 0.5 is positive), giving `binary_accuracy` by
  TFMA's own formula;
- the weight of the rows (each row weighs 1 unless the metrics spec weights
  examples), giving `example_count`.

The metric's name is `auc`, so the gate's per-slice thresholds on it are
TFMA's thresholds on the `auc` of each model, as on the stock AUC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import apache_beam as beam
import numpy as np
from tensorflow_model_analysis import constants
from tensorflow_model_analysis.metrics import (
    calibration_histogram,
    confusion_matrix_metrics,
    metric_types,
    metric_util,
)

#: the class name an EvalConfig's MetricConfig gives, with `MODULE`.
CLASS_NAME = "GateMetrics"
MODULE = __name__
#: the stock threshold of TFMA's `BinaryAccuracy`.
ACCURACY_THRESHOLD = 0.5
ACCURACY_NAME = confusion_matrix_metrics.BINARY_ACCURACY_NAME
COUNT_NAME = "example_count"


def _computations(
    name: str = confusion_matrix_metrics.AUC_NAME,
    eval_config: Any = None,
    model_names: list[str] | None = None,
    example_weighted: bool = False,
) -> metric_types.MetricComputations:
    """One combiner for every model, then TFMA's own matrices and AUC from its histograms."""
    derived: list[metric_types.MetricComputation] = []
    models = []
    for model in model_names or [""]:
        # TFMA's AUC for this model: [its histogram, the matrices, the AUC];
        # the histogram's combiner is taken over, the derivations kept.
        histogram, *rest = confusion_matrix_metrics.AUC(name=name).computations(
            eval_config=eval_config, model_names=[model], example_weighted=example_weighted
        )
        derived += rest
        models.append(
            _Model(
                name=model,
                histogram=histogram.combiner,
                accuracy=metric_types.MetricKey(
                    ACCURACY_NAME, model_name=model, example_weighted=example_weighted
                ),
                count=metric_types.MetricKey(
                    COUNT_NAME, model_name=model, example_weighted=example_weighted
                ),
                eval_config=eval_config,
            )
        )
    keys = [key for model in models for key in model.keys]
    combiner = _OnePassCombiner(models, eval_config, example_weighted)
    one = metric_types.MetricComputation(keys=keys, preprocessors=None, combiner=combiner)
    return [one, *derived]


class GateMetrics(metric_types.Metric):
    """AUC (TFMA's, bit for bit), binary accuracy at 0.5 and example count, one pass per slice."""

    def __init__(self, name: str = confusion_matrix_metrics.AUC_NAME):
        super().__init__(_computations, name=name)


class _Model:
    """One model's share of the combiner: TFMA's histogram combiner and the output keys."""

    def __init__(self, name: str, histogram, accuracy, count, eval_config: Any) -> None:
        self.name = name
        self.label_key, self.prediction_key = _keys_of(eval_config, name)
        self.histogram = histogram
        self.accuracy = accuracy
        self.count = count
        self.keys = [histogram._key, accuracy, count]  # noqa: SLF001 (TFMA's own key)


def _keys_of(eval_config: Any, model: str) -> tuple[str, str]:
    """The model's (label_key, prediction_key), found as TFMA's extraction finds them."""
    specs = eval_config.model_specs if eval_config else []
    for spec in specs:
        if (spec.name if len(specs) > 1 else "") == model:
            return spec.label_key, spec.prediction_key
    return "", ""


#: per model: (histogram buckets, [tp, tn, fp, fn] at 0.5, weight of the rows).
_Accumulator = list[tuple[dict, list[float], float]]


class _OnePassCombiner(beam.CombineFn):
    """The combiner over every model at once."""

    def __init__(self, models: list[_Model], eval_config: Any, example_weighted: bool) -> None:
        self._models = models
        self._eval_config = eval_config
        self._example_weighted = example_weighted

    def create_accumulator(self) -> _Accumulator:
        return [(m.histogram.create_accumulator(), [0.0] * 4, 0.0) for m in self._models]

    def add_input(
        self, accumulator: _Accumulator, element: metric_types.StandardMetricInputs
    ) -> _Accumulator:
        updated = []
        for model, (buckets, matrix, count) in zip(self._models, accumulator, strict=True):
            for label, prediction, weight in self._rows(element, model):
                _add_to_histogram(model.histogram, buckets, label, prediction, weight)
                positive = prediction > ACCURACY_THRESHOLD
                # [tp, tn, fp, fn], as `contrib.aggregates.binary_confusion_matrices`.
                matrix[(0 if positive else 3) if label == 1.0 else (2 if positive else 1)] += weight
                count += weight
            updated.append((buckets, matrix, count))
        return updated

    def _rows(self, element, model: _Model) -> Iterable[tuple[float, float, float]]:
        """The model's (label, prediction, weight) of one row, as TFMA's extraction yields them."""
        if not self._example_weighted:
            simple = simple_row(element, model.name, model.label_key, model.prediction_key)
            if simple is not None:
                return (simple,)
        return (
            (float(label), float(prediction), float(weight))
            for label, prediction, weight in metric_util.to_label_prediction_example_weight(
                element,
                eval_config=self._eval_config,
                model_name=model.name,
                fractional_labels=True,
                flatten=True,
                example_weighted=self._example_weighted,
            )
        )

    def merge_accumulators(self, accumulators: Iterable[_Accumulator]) -> _Accumulator:
        merged = None
        for accumulator in accumulators:
            if merged is None:
                merged = accumulator
                continue
            merged = [
                (
                    model.histogram.merge_accumulators([mine[0], theirs[0]]),
                    [a + b for a, b in zip(mine[1], theirs[1], strict=True)],
                    mine[2] + theirs[2],
                )
                for model, mine, theirs in zip(self._models, merged, accumulator, strict=True)
            ]
        return merged if merged is not None else self.create_accumulator()

    def extract_output(self, accumulator: _Accumulator) -> dict:
        accuracy = confusion_matrix_metrics.BinaryAccuracy()
        out: dict = {}
        for model, (buckets, matrix, count) in zip(self._models, accumulator, strict=True):
            out.update(model.histogram.extract_output(buckets))
            out[model.accuracy] = accuracy.result(*matrix)
            out[model.count] = np.float64(count)
        return out


def simple_row(
    element: dict, model: str, label_key: str, prediction_key: str
) -> tuple[float, float, float] | None:
    """(label, prediction, 1.0) of an unweighted row with one 0/1 label and one
    numeric prediction, else None (`metric_util.to_label_prediction_example_weight` then).

    For such a row TFMA's extraction (the label and prediction looked up by key
    and by model name, fractional labels, weight 1) yields exactly this one
    tuple; this reads it without that function's generic lookups, which were
    the largest part of the Evaluator's time per row.
    """
    label = _by_keys(element.get(constants.LABELS_KEY), (label_key, model))
    prediction = element.get(constants.PREDICTIONS_KEY)
    if model:
        if not isinstance(prediction, Mapping) or model not in prediction:
            return None
        prediction = prediction[model]
    if isinstance(prediction, Mapping):
        if not prediction_key or _VOCABULARY_KEYS & prediction.keys():
            return None
        prediction = prediction.get(prediction_key)
    if not (_one_number(label) and _one_number(prediction)):
        return None
    label_value = float(label.flat[0])
    if label_value not in (0.0, 1.0):
        return None
    return label_value, float(prediction.flat[0]), 1.0


#: prediction keys from which TFMA reads a label vocabulary (its slow path handles them).
_VOCABULARY_KEYS = frozenset({"all_classes", "classes"})


def _by_keys(value: Any, keys: tuple[str, ...]) -> Any:
    """TFMA's optional lookups: each key that names an entry of a mapping value descends."""
    for key in keys:
        if key and isinstance(value, Mapping) and key in value:
            value = value[key]
    return value


def _one_number(value: Any) -> bool:
    return (
        isinstance(value, np.ndarray)
        and value.size == 1
        and (np.issubdtype(value.dtype, np.floating) or np.issubdtype(value.dtype, np.integer))
    )


def _add_to_histogram(histogram, buckets: dict, label: float, prediction: float, weight: float):
    """One (label, prediction, weight) into TFMA's histogram accumulator, as its `add_input`."""
    index = histogram._bucket_index(prediction)  # noqa: SLF001 (TFMA's bucketing, kept)
    bucket = buckets.get(index)
    if bucket is None:
        buckets[index] = calibration_histogram.Bucket(
            index, label * weight, prediction * weight, weight
        )
    else:
        bucket.weighted_labels += label * weight
        bucket.weighted_predictions += prediction * weight
        bucket.weighted_examples += weight
