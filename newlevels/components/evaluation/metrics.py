"""Names the Evaluator uses, and reading its sliced metrics back."""

from __future__ import annotations

from collections.abc import Sequence

from newlevels.contracts import gate
from newlevels.contracts.signatures import COHORT_KEY, NEW, OLD, UNSEEN, cohort_key

CANDIDATE = gate.CANDIDATE
BASELINE = gate.BASELINE
MODELS = gate.MODELS
#: cohort slice name -> the cohort (the value of `level_cohort`, `level_cohort_<feature>`).
COHORT_SLICES = {gate.NEW_ROWS: NEW, gate.UNSEEN_ROWS: UNSEEN, gate.OLD_ROWS: OLD}
#: slice name -> TFMA slice key (empty = overall).
SLICES = {
    gate.OVERALL: (),
    **{name: ((COHORT_KEY, cohort),) for name, cohort in COHORT_SLICES.items()},
}
#: per-feature slice names (the cohort of the row's level of that feature).
FEATURE_SLICES = tuple(COHORT_SLICES)

Numbers = dict[str, float | int | None]
SliceMetrics = dict[str, dict[str, Numbers]]
#: {model: {feature: {new_level_rows|unseen_level_rows|old_level_rows: numbers}}}
FeatureSliceMetrics = dict[str, dict[str, dict[str, Numbers]]]


def _by_key(evaluation_uri: str | None) -> dict[str, dict[tuple, dict]]:
    """Each model's metric values by TFMA slice key ({} for a missing evaluation)."""
    import tensorflow_model_analysis as tfma

    found: dict[str, dict[tuple, dict]] = {model: {} for model in MODELS}
    if not evaluation_uri:
        return found
    loaded = tfma.load_eval_result(evaluation_uri)
    if len(loaded.config.model_specs) == 1:
        # The candidate alone (a span that skipped its full retrain): TFMA keys
        # a single model's metrics by no model name.
        found[CANDIDATE] = _slices(loaded)
        return found
    for model in MODELS:
        found[model] = _slices(tfma.load_eval_result(evaluation_uri, model_name=model))
    return found


def _slices(loaded) -> dict[tuple, dict]:
    return {tuple(key): values[""][""] for key, values in loaded.slicing_metrics}


def read_slice_metrics(evaluation_uri: str | None) -> SliceMetrics:
    """{model: {slice: {"auc", "accuracy", "examples"}}} from an Evaluator output.

    Slices with no rows, or a missing evaluation, give None values.
    """
    found = _by_key(evaluation_uri)
    return {
        model: {name: _numbers(found[model].get(key, {})) for name, key in SLICES.items()}
        for model in MODELS
    }


def read_feature_slice_metrics(
    evaluation_uri: str | None, feature_names: Sequence[str]
) -> FeatureSliceMetrics:
    """Per feature, the metrics on each cohort of that feature's level (new, unseen, old).

    Args:
        evaluation_uri: the Evaluator's output, or None.
        feature_names: the categorical features.

    Returns:
        {model: {feature: {"new_level_rows"|"unseen_level_rows"|"old_level_rows":
        {"auc", "accuracy", "examples"}}}}; slices with no rows, or a missing
        evaluation, give None values.
    """
    found = _by_key(evaluation_uri)
    return {
        model: {
            feature: {
                name: _numbers(found[model].get(((cohort_key(feature), cohort),), {}))
                for name, cohort in COHORT_SLICES.items()
            }
            for feature in feature_names
        }
        for model in MODELS
    }


def _numbers(values: dict) -> Numbers:
    def number(metric: str) -> float | None:
        found = values.get(metric)
        return None if found is None else float(found["doubleValue"])

    count = number("example_count")
    return {
        "auc": number("auc"),
        "accuracy": number("binary_accuracy"),
        "examples": None if count is None else int(count),
    }
