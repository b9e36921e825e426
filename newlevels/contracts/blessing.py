"""The MLMD custom properties on the Decision's blessings (read by Pushers, resolvers, lineage).

The Decision writes two ModelBlessings per evaluated span, one for the
candidate and one for the full retrain; `blessed` is 1 on the one to serve.
Only these carry `PIPELINE`: a parent resolver must count a blessing only if
its `PIPELINE` is the pipeline's name, so that the stock Evaluator's blessing
(blessed whenever TFMA's thresholds pass, pushed or not) never names a parent.
"""

from __future__ import annotations

#: the pipeline's name (string).
PIPELINE = "newlevels_pipeline"
#: extend, rebase or hold (string).
DECISION = "newlevels_decision"
#: JSON list of lines: each check, the freeze certificate, then the outcome.
REASONS = "newlevels_decision_reasons"
#: JSON {model: {slice: AUC or null}}; a struct keeps every digit (MLMD's float
#: properties come back rounded to six significant digits from SQLite).
AUC = "newlevels_auc"
#: JSON: the gate's policy and budgets.
GATE = "newlevels_gate"
#: the parent Model's id (the model in serving when the span was decided), or -1.
PARENT_MODEL_ID = "newlevels_parent_model_id"
#: JSON {table: digest}: the parent's rows, which an extension's old rows must equal.
PARENT_ROWS_DIGEST = "newlevels_parent_rows_digest"
#: JSON {table: {max_abs, mean_abs, tokens, missing}}: parent -> full retrain, on a rebase.
REBASE_MOVEMENT = "newlevels_rebase_movement"
#: 1 if TFMA's validation passed (0 when a threshold failed or a slice had no rows).
TFMA_VALIDATION_OK = "newlevels_tfma_validation_ok"
#: JSON: the run's baseline plan (`contracts.baseline.Plan.to_dict`: schedule, trained,
#: reason, and the recorded full retrain used when skipped) and `requested` (a hold
#: against a recorded baseline asks the next run for a fresh one).
BASELINE_PLAN = "newlevels_baseline"
