"""`Decision`: the span's decision at the gate (extend, rebase or hold), and the Pushers' blessings.

It runs after the Evaluator, in every run that evaluates. It reads the
Evaluator's sliced AUCs and validation result, the candidate, the full retrain
and the parent (the resolver's output), and decides with `contracts.gate.decide`
under the gate that the Evaluator's own EvalConfig holds (`eval_config.gate_of`:
one per-run value sets both). It writes one ModelBlessing per model:
`candidate_blessing` (blessed for `extend`) and `baseline_blessing` (blessed for
`rebase`); `hold` blesses neither. Each carries the properties of
`contracts.blessing`: the pipeline's name, the decision and its reasons, the
AUCs, the gate, the parent's rows digest, which the push guard checks again
before it copies, and the baseline plan (trained, or skipped and the recorded
full retrain used instead: `contracts.baseline`). On a skipped span there is no
full retrain: `baseline_blessing` blesses nothing and names no model.
"""

# No `from __future__ import annotations`: the @component decorator reads real types.
import dataclasses
import json

import tensorflow_model_analysis as tfma
from tfx import types
from tfx import v1 as tfx

from newlevels.components import certificate
from newlevels.components.evaluation.eval_config import gate_of, slice_name
from newlevels.components.evaluation.metrics import SLICES, read_slice_metrics
from newlevels.components.properties import json_property
from newlevels.components.trainer import artifacts
from newlevels.components.trainer.executor import NO_PARENT
from newlevels.contracts import baseline as baselines
from newlevels.contracts import decision as verdicts
from newlevels.contracts import gate as gates
from newlevels.contracts.blessing import (
    AUC,
    BASELINE_PLAN,
    DECISION,
    GATE,
    PARENT_MODEL_ID,
    PARENT_ROWS_DIGEST,
    PIPELINE,
    REASONS,
    REBASE_MOVEMENT,
    TFMA_VALIDATION_OK,
)


class GateDisagreementError(RuntimeError):
    """The decision's checks and TFMA's validation result disagree (a bug: nothing is pushed)."""


@dataclasses.dataclass(frozen=True)
class Outcome:
    """A decided span: the decision and what it was decided on."""

    decision: verdicts.Decision
    aucs: dict
    gate: gates.Gate
    parent_id: int
    parent_rows_digest: dict
    rebase_movement: dict | None
    tfma_validation_ok: bool
    baseline: baselines.Plan = baselines.ALWAYS

    @property
    def baseline_record(self) -> dict:
        """The baseline plan as MLMD records it, with whether the decision asked for one."""
        return {**self.baseline.to_dict(), "requested": self.decision.baseline_requested}


def tfma_failures(evaluation_uri: str) -> tuple[set, set, bool]:
    """TFMA's verdict on the gate's thresholds, read from the Evaluator's output.

    Args:
        evaluation_uri: the Evaluator's `evaluation` artifact.

    Returns:
        ({(slice name, kind) of each failed threshold}, {slice names TFMA found
        no row of}, TFMA's `validation_ok`).
    """
    result = tfma.load_validation_result(evaluation_uri)
    failed = set()
    for per_slice in result.metric_validations_per_slice:
        key = tuple(tfma.slicer.deserialize_slice_key(per_slice.slice_key))
        name = next((n for n, k in SLICES.items() if k == key), str(key))
        for failure in per_slice.failures:
            value = failure.metric_threshold.HasField("value_threshold")
            failed.add((name, gates.VALUE if value else gates.CHANGE))
    missing = {slice_name(spec) for spec in result.missing_slices}
    return failed, missing, result.validation_ok


def check_agreement(decision: verdicts.Decision, evaluation_uri: str) -> bool:
    """Asserts that TFMA failed exactly the checks that failed, and found no row where none applied.

    Args:
        decision: the decision made from the same evaluation.
        evaluation_uri: the Evaluator's `evaluation` artifact.

    Returns:
        TFMA's `validation_ok`.

    Raises:
        GateDisagreementError: naming both verdicts.
    """
    failed, missing, ok = tfma_failures(evaluation_uri)
    # A `recorded` threshold is a value threshold to TFMA (`eval_config.metric_threshold`).
    ours = {
        (c.threshold.slice, gates.VALUE if c.threshold.kind == gates.RECORDED else c.threshold.kind)
        for c in decision.checks
        if c.passed is False
    }
    empty = {c.threshold.slice for c in decision.checks if c.passed is None and c.tfma_checked}
    if ours != failed or empty != missing:
        raise GateDisagreementError(
            f"the gate's checks (failed {sorted(ours)}, no rows {sorted(empty)}) disagree with "
            f"TFMA's validation of {evaluation_uri} (failed {sorted(failed)}, missing "
            f"{sorted(missing)})"
        )
    return ok


def parent_rows_digest(parent: types.Artifact) -> dict:
    """The parent's recorded rows digest, or computed from its files (a model from before it)."""
    recorded = json_property(parent, certificate.ROWS_DIGEST)
    if recorded:
        return dict(recorded)
    return certificate.rows_digests(artifacts.read_embeddings(parent.uri))


def decide_span(
    evaluation_uri: str,
    candidate: types.Artifact,
    baseline: types.Artifact | None,
    parent: types.Artifact | None,
    gate: gates.Gate,
    plan: baselines.Plan = baselines.ALWAYS,
) -> Outcome:
    """Decides one span from the Evaluator's output and the three models' artifacts.

    The candidate is decided as an extension of `parent` when its manifest says
    it extends it, and as a first model otherwise (no parent, or a fresh model
    trained by `--fresh-on-mismatch`).

    Args:
        evaluation_uri: the Evaluator's `evaluation` artifact.
        candidate: the incremental Trainer's Model (with its MLMD properties).
        baseline: the full retrain's Model (None: the plan skipped it).
        parent: the resolver's Model (the model in serving), or None.
        gate: the gate the Evaluator's EvalConfig holds, and the policy.
        plan: the run's baseline plan; when skipped, the candidate is decided
            against its reference's recorded AUCs.

    Returns:
        The decision, its AUCs and gate, the parent's id and rows digest, and on
        a rebase how far the parent's rows moved in the full retrain.

    Raises:
        GateDisagreementError: if the checks and TFMA's validation disagree.
    """
    metrics = read_slice_metrics(evaluation_uri)
    aucs = {m: {s: values["auc"] for s, values in metrics[m].items()} for m in gates.MODELS}
    if not plan.trained:
        aucs[gates.BASELINE] = dict(plan.reference.auc) if plan.reference else {}
    embeddings = artifacts.read_embeddings(candidate.uri)
    extends = embeddings.manifest.parent_model_uri
    verdict, digest = None, {}
    if extends:
        if parent is None or extends.rstrip("/") != parent.uri.rstrip("/"):
            found = parent.uri if parent else "none"
            verdict = verdicts.Certificate(
                False, f"the candidate extends {extends}, the parent is {found}"
            )
        else:
            digest = parent_rows_digest(parent)
            recorded = json_property(candidate, certificate.OLD_ROWS_DIGEST)
            verdict = certificate.verify(embeddings, digest, recorded)
    decision = verdicts.decide(gate, aucs, verdict, plan)
    tfma_ok = check_agreement(decision, evaluation_uri)
    movement = None
    if decision.decision == gates.REBASE and extends and parent is not None:
        movement = certificate.movement(
            artifacts.read_embeddings(parent.uri), artifacts.read_embeddings(baseline.uri)
        )
    return Outcome(
        decision=decision,
        aucs=aucs,
        gate=gate,
        parent_id=parent.id if parent is not None else NO_PARENT,
        parent_rows_digest=digest,
        rebase_movement=movement,
        tfma_validation_ok=tfma_ok,
        baseline=plan,
    )


def write_blessing(
    blessing: types.Artifact,
    model: types.Artifact | None,
    served: bool,
    outcome: Outcome,
    pipeline: str,
) -> None:
    """Sets a blessing's properties: blessed if `model` is served, and the decision's record.

    `model` is None for the full retrain of a span that skipped it (never served).
    """
    blessing.set_int_custom_property("blessed", int(served))
    if model is not None:
        blessing.set_string_custom_property("current_model", model.uri)
        blessing.set_int_custom_property("current_model_id", model.id)
    blessing.set_string_custom_property(PIPELINE, pipeline)
    blessing.set_string_custom_property(DECISION, outcome.decision.decision)
    blessing.set_json_value_custom_property(REASONS, list(outcome.decision.reasons))
    blessing.set_json_value_custom_property(AUC, outcome.aucs)
    blessing.set_json_value_custom_property(GATE, outcome.gate.to_dict())
    blessing.set_int_custom_property(PARENT_MODEL_ID, outcome.parent_id)
    blessing.set_json_value_custom_property(PARENT_ROWS_DIGEST, outcome.parent_rows_digest)
    blessing.set_int_custom_property(TFMA_VALIDATION_OK, int(outcome.tfma_validation_ok))
    blessing.set_json_value_custom_property(BASELINE_PLAN, outcome.baseline_record)
    if outcome.rebase_movement is not None:
        blessing.set_json_value_custom_property(REBASE_MOVEMENT, outcome.rebase_movement)


@tfx.dsl.components.component
def Decision(  # noqa: N802 (TFX component naming)
    evaluation: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ModelEvaluation],
    candidate: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Model],
    candidate_blessing: tfx.dsl.components.OutputArtifact[
        tfx.types.standard_artifacts.ModelBlessing
    ],
    baseline_blessing: tfx.dsl.components.OutputArtifact[
        tfx.types.standard_artifacts.ModelBlessing
    ],
    eval_config: tfx.dsl.components.Parameter[str],
    pipeline_name: tfx.dsl.components.Parameter[str],
    baseline: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Model] = None,
    parent: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Model] = None,
    policy: tfx.dsl.components.Parameter[str] = gates.EXTEND_OR_REBASE,
    baseline_plan: tfx.dsl.components.Parameter[str] = "",
) -> None:
    """Decides extend, rebase or hold, and blesses the model to serve (if any)."""
    plan = (
        baselines.Plan.from_dict(json.loads(baseline_plan)) if baseline_plan else baselines.ALWAYS
    )
    gate = gate_of(eval_config, policy)
    outcome = decide_span(evaluation.uri, candidate, baseline, parent, gate, plan)
    write_blessing(
        candidate_blessing, candidate, outcome.decision.serves_candidate, outcome, pipeline_name
    )
    write_blessing(
        baseline_blessing, baseline, outcome.decision.serves_baseline, outcome, pipeline_name
    )
