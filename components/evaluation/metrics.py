"""Names the Evaluator uses, and reading its sliced metrics back."""

from __future__ import annotations

from components.trainer.export import NEW_LEVEL_KEY

CANDIDATE = "candidate"
BASELINE = "baseline"
MODELS = (CANDIDATE, BASELINE)
#: slice name -> TFMA slice key (empty = overall).
SLICES = {
    "overall": (),
    "new_level_rows": ((NEW_LEVEL_KEY, 1),),
    "old_level_rows": ((NEW_LEVEL_KEY, 0),),
}

SliceMetrics = dict[str, dict[str, dict[str, float | int | None]]]


def read_slice_metrics(evaluation_uri: str | None) -> SliceMetrics:
    """{model: {slice: {"auc", "accuracy", "examples"}}} from an Evaluator output.

    Slices with no rows, or a missing evaluation, give None values.
    """
    import tensorflow_model_analysis as tfma

    result: SliceMetrics = {}
    for model in MODELS:
        by_key = {}
        if evaluation_uri:
            loaded = tfma.load_eval_result(evaluation_uri, model_name=model)
            by_key = {tuple(key): values[""][""] for key, values in loaded.slicing_metrics}
        result[model] = {name: _numbers(by_key.get(tuple(key), {})) for name, key in SLICES.items()}
    return result


def _numbers(values: dict) -> dict[str, float | int | None]:
    def number(metric: str) -> float | None:
        found = values.get(metric)
        return None if found is None else float(found["doubleValue"])

    count = number("example_count")
    return {
        "auc": number("auc"),
        "accuracy": number("binary_accuracy"),
        "examples": None if count is None else int(count),
    }
