"""`BaselinePromotion`: records the gate in MLMD and, if asked, promotes the full retrain.

It runs after the Evaluator in every run. Its output is a ModelBlessing for the
*baseline* model: blessed only when `promote_on_reject` is on, the candidate was
rejected, and the baseline reaches `min_auc` on its own. A second Pusher pushes
the baseline on that blessing, and the parent resolver (latest blessed model)
then extends it next run. The blessing also carries the gate's AUCs per slice,
so `newlevels lineage` can read them from MLMD alone.
"""

# No `from __future__ import annotations`: the @component decorator reads real types.
from tfx import v1 as tfx

from newlevels.components.evaluation.metrics import BASELINE, CANDIDATE, read_slice_metrics

CANDIDATE_BLESSED = "newlevels_candidate_blessed"
PROMOTED = "newlevels_promoted_baseline"
#: JSON {model: {slice: AUC or null}}; a struct keeps every digit (MLMD's float
#: properties come back rounded to six significant digits from SQLite).
AUC = "newlevels_auc"


def should_promote(
    candidate_blessed: bool, baseline_auc: float | None, promote_on_reject: bool, min_auc: float
) -> bool:
    """Whether the full retrain replaces a rejected candidate."""
    return (
        promote_on_reject
        and not candidate_blessed
        and baseline_auc is not None
        and baseline_auc >= min_auc
    )


@tfx.dsl.components.component
def BaselinePromotion(  # noqa: N802 (TFX component naming)
    evaluation: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ModelEvaluation],
    candidate_blessing: tfx.dsl.components.InputArtifact[
        tfx.types.standard_artifacts.ModelBlessing
    ],
    baseline_model: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Model],
    blessing: tfx.dsl.components.OutputArtifact[tfx.types.standard_artifacts.ModelBlessing],
    promote_on_reject: tfx.dsl.components.Parameter[int] = 0,
    min_auc: tfx.dsl.components.Parameter[float] = 0.5,
) -> None:
    """Blesses the baseline model when it is promoted; records the gate's AUCs."""
    metrics = read_slice_metrics(evaluation.uri)
    candidate_blessed = candidate_blessing.get_int_custom_property("blessed") == 1
    promoted = should_promote(
        candidate_blessed, metrics[BASELINE]["overall"]["auc"], bool(promote_on_reject), min_auc
    )
    blessing.set_int_custom_property("blessed", int(promoted))
    blessing.set_int_custom_property("current_model_id", baseline_model.id)
    blessing.set_int_custom_property(CANDIDATE_BLESSED, int(candidate_blessed))
    blessing.set_int_custom_property(PROMOTED, int(promoted))
    blessing.set_json_value_custom_property(
        AUC,
        {
            model: {name: values["auc"] for name, values in metrics[model].items()}
            for model in (CANDIDATE, BASELINE)
        },
    )
