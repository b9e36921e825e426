"""TFX's Evaluator executor run again on a run's inputs from MLMD (the cost bench's harness)."""

from __future__ import annotations

import os
import time
from typing import Any


def _tfx_artifact(store, artifact):
    from tfx.types import artifact_utils

    [artifact_type] = store.get_artifact_types_by_id([artifact.type_id])
    return artifact_utils.deserialize_artifact(artifact_type, artifact)


def evaluator_inputs(workdir: str) -> dict[str, Any]:
    """The latest run's Evaluator and Decision inputs and exec properties, as TFX artifacts."""
    from newlevels.pipeline import metadata
    from newlevels.pipeline.config import PIPELINE_NAME
    from newlevels.pipeline.pipeline import NodeIds

    store = metadata.open_store(os.path.join(workdir, "metadata.sqlite"))
    run = metadata.latest_run(store, PIPELINE_NAME)
    evaluator, decision = run.nodes[NodeIds.EVALUATOR], run.nodes[NodeIds.DECISION]
    inputs = {k: [_tfx_artifact(store, a) for a in v] for k, v in evaluator.inputs.items()}
    # The candidate is also the Cond's predicate (a span with new levels), and
    # MLMD records its one input event under the predicate's key.
    predicate = f"_{NodeIds.INCREMENTAL_TRAINER}.model"
    if "model" not in inputs and predicate in inputs:
        inputs["model"] = inputs.pop(predicate)
    return {
        "inputs": inputs,
        "decision_inputs": {k: _tfx_artifact(store, v[0]) for k, v in decision.inputs.items() if v},
        "properties": _properties(evaluator.execution),
        "decision_properties": _properties(decision.execution),
    }


def _properties(execution) -> dict[str, Any]:
    """An execution's properties (TFX records them as custom properties)."""
    from newlevels.pipeline import metadata

    return {key: metadata.custom_value(execution, key) for key in execution.custom_properties}


def run_evaluator(inputs: dict, properties: dict, eval_config: str, out: str) -> float:
    """Runs TFX's Evaluator executor into `out` with the local run's Beam args; its seconds."""
    from tfx.components.evaluator.executor import Executor
    from tfx.dsl.components.base.base_beam_executor import BaseBeamExecutor
    from tfx.types import standard_artifacts

    from newlevels.pipeline.config import DEFAULT_BEAM_ARGS
    from newlevels.pipeline.local_runner import no_tfx_sdist

    beam_args = list(DEFAULT_BEAM_ARGS)
    evaluation = standard_artifacts.ModelEvaluation()
    evaluation.uri = out
    blessing = standard_artifacts.ModelBlessing()
    blessing.uri = out + "-blessing"
    os.makedirs(out, exist_ok=True)
    os.makedirs(blessing.uri, exist_ok=True)
    properties = {**properties, "eval_config": eval_config}
    context = BaseBeamExecutor.Context(beam_pipeline_args=beam_args, tmp_dir=out + "-tmp")
    started = time.perf_counter()
    with no_tfx_sdist(beam_args):
        Executor(context).Do(
            inputs, {"evaluation": [evaluation], "blessing": [blessing]}, properties
        )
    return time.perf_counter() - started


def decide(found: dict, evaluation_uri: str) -> str:
    """The Decision's verdict on an Evaluator output."""
    from newlevels.components.evaluation.decision import decide_span
    from newlevels.components.evaluation.eval_config import gate_of

    properties = found["decision_properties"]
    gate = gate_of(properties["eval_config"], properties["policy"])
    # The Evaluator's own inputs: MLMD may key the Decision's candidate by the Cond's predicate.
    [candidate], [baseline] = found["inputs"]["model"], found["inputs"]["baseline_model"]
    parent = found["decision_inputs"].get("parent")
    outcome = decide_span(evaluation_uri, candidate, baseline, parent, gate)
    return outcome.decision.decision


def repeated_examples(examples, splits: list[str], copies: int, root: str):
    """A copy of the Examples artifact whose `splits` hold each of their files `copies` times.

    The same rows `copies` times over: the Evaluator's work grows with the rows
    while its fixed costs (loading the models, Beam's setup) stay, so the slope
    between the two sizes is the cost of one more row.
    """
    import copy
    import shutil

    from tfx.types import artifact_utils

    repeated = artifact_utils.deserialize_artifact(
        examples.artifact_type, copy.deepcopy(examples.mlmd_artifact)
    )
    repeated.uri = root
    for split in splits:
        source = artifact_utils.get_split_uri([examples], split)
        target = artifact_utils.get_split_uri([repeated], split)
        os.makedirs(target)
        for name in sorted(os.listdir(source)):
            for n in range(copies):
                shutil.copyfile(os.path.join(source, name), os.path.join(target, f"{n}-{name}"))
    return repeated
