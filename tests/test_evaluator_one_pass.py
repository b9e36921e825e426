"""The Evaluator's one-pass metrics give TFMA's stock values, so the gate decides alike.

TFMA's metric computations run here without Beam, on generated rows: the
combiners of each computation over the rows of a slice (in two parts, merged),
then the derived computations, as TFMA's evaluator does per slice.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.metrics import metric_specs, metric_types
from tensorflow_model_analysis.utils import config_util

from newlevels.components.evaluation import one_pass
from newlevels.components.evaluation.eval_config import AUC_CLASSES, eval_config, slice_name
from newlevels.components.evaluation.metrics import COHORT_SLICES, SLICES
from newlevels.contracts import decision as verdicts
from newlevels.contracts import gate as gates
from newlevels.contracts.signatures import COHORT_KEY, PREDICTION_KEY, cohort_key

GATE = gates.Gate(min_auc=0.6, tolerance=0.02, staleness_budget=0.07)
FEATURES = ["userId", "movieId"]
#: predictions on and around the accuracy threshold and the histogram's edges.
EDGES = np.array([0.0, 1.0, 0.5, 0.49999997, 0.50000006, 0.25, 0.75], np.float32)


def stock_config(config: tfma.EvalConfig) -> tfma.EvalConfig:
    """`config` with TFMA's stock ExampleCount, BinaryAccuracy and AUC (the same thresholds)."""
    stock = tfma.EvalConfig()
    stock.CopyFrom(config)
    [metric] = stock.metrics_specs[0].metrics
    thresholds = list(metric.per_slice_thresholds)
    del stock.metrics_specs[0].metrics[:]
    stock.metrics_specs[0].metrics.extend(
        [
            tfma.MetricConfig(class_name="ExampleCount"),
            tfma.MetricConfig(class_name="BinaryAccuracy"),
            tfma.MetricConfig(class_name="AUC", per_slice_thresholds=thresholds),
        ]
    )
    return stock


def rows(count: int = 600, seed: int = 7) -> list[tuple[str, metric_types.StandardMetricInputs]]:
    """(cohort, inputs) rows: 0/1 labels, the candidate worse on new rows, edge
    predictions, and a few fractional labels (TFMA's slow path in `one_pass`)."""
    rng = np.random.default_rng(seed)
    found = []
    for index in range(count):
        cohort = ("new", "old", "unseen")[index % 3]
        label = float(rng.random() < 0.5)
        if index % 97 == 0:
            label = 0.25
        signal = 0.3 * label + 0.7 * rng.random()
        # noisier on new rows: its AUC there falls behind the baseline's
        candidate = 0.4 * signal + 0.6 * rng.random() if cohort == "new" else signal
        baseline = EDGES[index % len(EDGES)] if index % 11 == 0 else signal
        predictions = {
            model: {PREDICTION_KEY: np.array([np.clip(value, 0.0, 1.0)], np.float32)}
            for model, value in (("candidate", candidate), ("baseline", baseline))
        }
        inputs = {"labels": np.array([label], np.float32), "predictions": predictions}
        found.append((cohort, metric_types.StandardMetricInputs(inputs)))
    return found


def evaluate(config: tfma.EvalConfig, sliced) -> dict[str, dict]:
    """{slice name: {(metric, model): value}}: TFMA's computations of `config` per slice."""
    # As the Evaluator does: the specs name their models.
    config = config_util.update_eval_config_with_defaults(config, has_baseline=True)
    computations = metric_specs.to_computations(config.metrics_specs, eval_config=config)
    by_slice = {"overall": [inputs for _, inputs in sliced]}
    for name, cohort in COHORT_SLICES.items():
        by_slice[name] = [inputs for found, inputs in sliced if found == cohort]
    results = {}
    for name, inputs in by_slice.items():
        metrics: dict = {}
        for computation in computations:
            if isinstance(computation, metric_types.DerivedMetricComputation):
                metrics.update(computation.result(metrics))
                continue
            combiner = computation.combiner
            parts = []
            for part in (inputs[::2], inputs[1::2]):
                accumulator = combiner.create_accumulator()
                for element in part:
                    accumulator = combiner.add_input(accumulator, element)
                parts.append(accumulator)
            metrics.update(combiner.extract_output(combiner.merge_accumulators(parts)))
        results[name] = {
            (key.name, key.model_name): value
            for key, value in metrics.items()
            if not key.name.startswith("_")
        }
    return results


def aucs(results: dict[str, dict]) -> dict[str, dict[str, float]]:
    return {
        model: {name: results[name][("auc", model)] for name in results} for model in gates.MODELS
    }


def test_one_pass_metrics_are_tfmas_bit_for_bit_and_the_gate_decides_alike():
    config = eval_config("liked", GATE, FEATURES)
    sliced = rows()
    ours, stock = evaluate(config, sliced), evaluate(stock_config(config), sliced)
    assert ours == stock  # every slice, model and metric: auc, binary_accuracy, example_count
    assert {name for name, _ in ours["overall"]} == {"auc", "binary_accuracy", "example_count"}
    assert ours["overall"][("example_count", "candidate")] == len(sliced)
    decided = verdicts.decide(GATE, aucs(ours), None)
    assert decided == verdicts.decide(GATE, aucs(stock), None)
    assert decided.decision == gates.REBASE  # the candidate is behind on new rows


def test_the_simple_row_is_what_tfmas_extraction_yields():
    for _, inputs in rows(60):
        for model in gates.MODELS:
            simple = one_pass.simple_row(inputs, model, "liked", PREDICTION_KEY)
            if float(inputs["labels"][0]) not in (0.0, 1.0):
                assert simple is None
                continue
            [(label, prediction, weight)] = one_pass.metric_util.to_label_prediction_example_weight(
                inputs,
                eval_config=eval_config("liked", GATE, FEATURES),
                model_name=model,
                fractional_labels=True,
                flatten=True,
            )
            assert simple == (float(label), float(prediction), float(weight))


def tfma_thresholds(config: tfma.EvalConfig, fresh: bool) -> dict:
    """TFMA's thresholds of `config` by metric key, as its validator reads them."""
    config = config_util.update_eval_config_with_defaults(config, has_baseline=fresh)
    return metric_specs.metric_thresholds_from_metrics_specs(
        config.metrics_specs, eval_config=config
    )


@pytest.mark.parametrize("fresh", [True, False])
def test_tfma_validates_every_threshold_the_gate_states_on_the_one_pass_auc(fresh):
    recorded = None if fresh else {"overall": 0.8, "new_level_rows": 0.79}
    config = eval_config("liked", GATE, FEATURES, recorded)
    [metric] = config.metrics_specs[0].metrics
    assert metric.class_name in AUC_CLASSES and metric.module == one_pass.MODULE
    found = tfma_thresholds(config, fresh)
    assert found == tfma_thresholds(stock_config(config), fresh)
    stated = set()
    for key, by_slice in found.items():
        assert key.name == "auc"
        if key.model_name not in (gates.CANDIDATE, ""):  # "": the candidate alone
            continue
        for spec, threshold in by_slice:
            kind = "value" if isinstance(threshold, tfma.GenericValueThreshold) else "change"
            assert key.is_diff == (kind == "change")
            stated.add((slice_name(spec), kind))
    wanted = {
        (t.slice, "change" if t.kind == gates.CHANGE else "value")
        for t in gates.thresholds(GATE, fresh=fresh)
    }
    assert stated == wanted


def test_every_slice_the_gate_and_the_summary_read_is_sliced():
    config = eval_config("liked", GATE, FEATURES)
    sliced_on = {tuple(spec.feature_keys) for spec in config.slicing_specs}
    wanted = {tuple(key for key, _ in SLICES[name]) for name in SLICES}
    wanted |= {(cohort_key(name),) for name in FEATURES}
    assert wanted == sliced_on
    assert (COHORT_KEY,) in sliced_on
