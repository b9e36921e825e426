"""The serving contract: signature names, the prediction key and the cohort slice keys.

Every exported model serves `serving_default` ({PREDICTION_KEY: probability}),
`transform_features` and `slice_features`. The last one marks each row's
cohort, which the Evaluator slices on:

- `new`: the row holds a level the model added;
- `unseen`: else, it holds a level the model's vocabulary lacks (served through
  the OOV row);
- `old`: else (every level of the row was known to the model's parent).

A first model has no parent, so it has no `old` cohort.
"""

from __future__ import annotations

from collections.abc import Sequence

PREDICTION_KEY = "probability"
SERVING_SIGNATURE = "serving_default"
TRANSFORM_SIGNATURE = "transform_features"
SLICE_SIGNATURE = "slice_features"

#: 1 for a row holding any level the model added, else 0.
NEW_LEVEL_KEY = "new_level"
#: the row's cohort: one of COHORTS.
COHORT_KEY = "level_cohort"
NEW, UNSEEN, OLD = "new", "unseen", "old"
COHORTS = (NEW, UNSEEN, OLD)


def new_level_key(feature: str) -> str:
    """The slice key marking rows whose `feature` level the model added (1) or not (0)."""
    return f"{NEW_LEVEL_KEY}_{feature}"


def cohort_key(feature: str) -> str:
    """The slice key holding the cohort of the row's `feature` level alone."""
    return f"{COHORT_KEY}_{feature}"


def slice_keys(feature_names: Sequence[str]) -> tuple[str, ...]:
    """Every key of the `slice_features` signature (reserved: no column may take one)."""
    return (
        NEW_LEVEL_KEY,
        COHORT_KEY,
        *(new_level_key(name) for name in feature_names),
        *(cohort_key(name) for name in feature_names),
    )
