"""The Decision's plain parts: the gate read back from the EvalConfig, and agreement with TFMA."""

from __future__ import annotations

import os

import pytest
import tensorflow as tf
import tensorflow_model_analysis as tfma
from google.protobuf import json_format
from tensorflow_model_analysis.proto import validation_result_pb2

from newlevels.components.evaluation import decision as deciding
from newlevels.components.evaluation.eval_config import (
    AUC_CLASSES,
    eval_config,
    gate_of,
    slicing_spec,
)
from newlevels.contracts import decision as verdicts
from newlevels.contracts import gate as gates
from newlevels.contracts.signatures import COHORT_KEY

GATE = gates.Gate(min_auc=0.6, tolerance=0.02, staleness_budget=0.07, policy=gates.EXTEND_ONLY)
#: new-level rows 0.03 behind (fails the 0.02 tolerance); no old-level rows.
AUCS = {
    "candidate": {"overall": 0.80, "new_level_rows": 0.77, "unseen_level_rows": 0.6},
    "baseline": {"overall": 0.81, "new_level_rows": 0.80, "unseen_level_rows": 0.6},
}


def test_the_decision_reads_back_the_gate_the_evaluator_checks():
    config = eval_config("label", GATE, ["userId", "movieId"])
    assert gate_of(config, GATE.policy) == GATE
    as_json = json_format.MessageToJson(config)
    assert gate_of(as_json, gates.EXTEND_OR_REBASE) == gates.Gate(
        min_auc=0.6, tolerance=0.02, staleness_budget=0.07
    )


def test_an_eval_config_without_the_staleness_threshold_is_refused():
    config = eval_config("label", GATE, ["userId"])
    (auc,) = [m for m in config.metrics_specs[0].metrics if m.class_name in AUC_CLASSES]
    kept = [
        t for t in auc.per_slice_thresholds if t.slicing_specs[0] != slicing_spec("old_level_rows")
    ]
    del auc.per_slice_thresholds[:]
    auc.per_slice_thresholds.extend(kept)
    with pytest.raises(
        gates.GateError, match="lacks the gate's change threshold on old_level_rows"
    ):
        gate_of(config, GATE.policy)


def write_validation(folder: str, failed_slices, missing_slices) -> str:
    """A `validations` file as TFMA's writer leaves it in the Evaluator's output."""
    result = validation_result_pb2.ValidationResult(validation_ok=not failed_slices)
    for cohort in failed_slices:
        per_slice = result.metric_validations_per_slice.add()
        per_slice.slice_key.CopyFrom(tfma.slicer.serialize_slice_key(((COHORT_KEY, cohort),)))
        failure = per_slice.failures.add()
        failure.metric_threshold.change_threshold.absolute.value = -GATE.tolerance
    for name in missing_slices:
        result.missing_slices.append(slicing_spec(name))
        result.validation_ok = False
    os.makedirs(folder, exist_ok=True)
    with tf.io.TFRecordWriter(os.path.join(folder, "validations")) as writer:
        writer.write(result.SerializeToString())
    return folder


def test_the_checks_agree_with_tfmas_validation_result(tmp_path):
    decision = verdicts.decide(GATE, AUCS, None)
    assert decision.decision == gates.HOLD
    evaluation = write_validation(str(tmp_path), ["new"], ["old_level_rows"])
    assert deciding.tfma_failures(evaluation) == (
        {("new_level_rows", gates.CHANGE)},
        {"old_level_rows"},
        False,
    )
    assert deciding.check_agreement(decision, evaluation) is False


def test_a_disagreement_with_tfma_fails_before_anything_is_pushed(tmp_path):
    decision = verdicts.decide(GATE, AUCS, None)
    passed_in_tfma = write_validation(str(tmp_path / "a"), [], ["old_level_rows"])
    with pytest.raises(deciding.GateDisagreementError, match="disagree with TFMA"):
        deciding.check_agreement(decision, passed_in_tfma)
    rows_in_tfma = write_validation(str(tmp_path / "b"), ["new"], [])
    with pytest.raises(deciding.GateDisagreementError, match="no rows \\['old_level_rows'\\]"):
        deciding.check_agreement(decision, rows_in_tfma)
