"""The Evaluator's cost per evaluation row: the stock TFX Evaluator, as configured and as cut.

Runs MovieLens span 1 and span 2 through the pipeline once (or reuses a
workdir), then runs TFX's Evaluator executor again on span 2's inputs, read
from MLMD (span 2's Examples, candidate, full retrain and schema), once per
variant per repeat, the variants alternating within each repeat so that a
change of load falls on each alike. Each output is decided by the Decision's
own code (`decide_span`), so a variant that changes a decision shows it.

    python -m newlevels.bench.evaluator_cost --out benchmarks/evaluator
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from newlevels.bench import common
from newlevels.bench.span_cost import checkout_commit

SPAN = 2


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
    return {
        "inputs": {k: [_tfx_artifact(store, a) for a in v] for k, v in evaluator.inputs.items()},
        "decision_inputs": {k: _tfx_artifact(store, v[0]) for k, v in decision.inputs.items() if v},
        "properties": _properties(evaluator.execution),
        "decision_properties": _properties(decision.execution),
    }


def _properties(execution) -> dict[str, Any]:
    """An execution's properties (TFX records them as custom properties)."""
    from newlevels.pipeline import metadata

    return {key: metadata.custom_value(execution, key) for key in execution.custom_properties}


def run_evaluator(found: dict, eval_config: str, beam_args: list[str], out: str) -> float:
    """Runs TFX's Evaluator executor into `out`; returns its seconds."""
    from tfx.components.evaluator.executor import Executor
    from tfx.dsl.components.base.base_beam_executor import BaseBeamExecutor
    from tfx.types import standard_artifacts

    from newlevels.pipeline.local_runner import no_tfx_sdist

    evaluation = standard_artifacts.ModelEvaluation()
    evaluation.uri = out
    blessing = standard_artifacts.ModelBlessing()
    blessing.uri = out + "-blessing"
    os.makedirs(out, exist_ok=True)
    os.makedirs(blessing.uri, exist_ok=True)
    properties = {**found["properties"], "eval_config": eval_config}
    context = BaseBeamExecutor.Context(beam_pipeline_args=beam_args, tmp_dir=out + "-tmp")
    started = time.perf_counter()
    with no_tfx_sdist(beam_args):
        Executor(context).Do(
            found["inputs"], {"evaluation": [evaluation], "blessing": [blessing]}, properties
        )
    return time.perf_counter() - started


def decide(found: dict, evaluation_uri: str) -> str:
    """The Decision's verdict on an Evaluator output."""
    from newlevels.components.evaluation.decision import decide_span
    from newlevels.components.evaluation.eval_config import gate_of

    inputs, properties = found["decision_inputs"], found["decision_properties"]
    gate = gate_of(properties["eval_config"], properties["policy"])
    outcome = decide_span(
        evaluation_uri, inputs["candidate"], inputs["baseline"], inputs.get("parent"), gate
    )
    return outcome.decision.decision


def variants(found: dict) -> dict[str, Callable[[], tuple[str, list[str]]]]:
    """{name: (eval_config JSON, beam args)}: the stock run and the cut."""
    from newlevels.pipeline.config import DEFAULT_BEAM_ARGS

    before = found["properties"]["eval_config"]
    return {"as run": (before, list(DEFAULT_BEAM_ARGS))}


def measure(workdir: str, scratch: str, repeats: int) -> dict[str, Any]:
    """Times each variant `repeats` times, alternating, on span 2's inputs."""
    from newlevels.components.evaluation.metrics import read_slice_metrics

    found = evaluator_inputs(workdir)
    runs: dict[str, list[float]] = {}
    decisions: dict[str, set] = {}
    rows = None
    for repeat in range(repeats):
        for name, (config, beam_args) in variants(found).items():
            out = os.path.join(scratch, f"{name.replace(' ', '-')}-{repeat}")
            runs.setdefault(name, []).append(round(run_evaluator(found, config, beam_args, out), 2))
            decisions.setdefault(name, set()).add(decide(found, out))
            rows = read_slice_metrics(out)["candidate"]["overall"]["examples"]
    return {
        "eval_rows": rows,
        "seconds": runs,
        "ms_per_row": {n: round(1000 * common.median(s) / rows, 3) for n, s in runs.items()},
        "decisions": {n: sorted(d) for n, d in decisions.items()},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/evaluator")
    parser.add_argument("--workdir", required=True, help="a workdir that ran spans 1 and 2")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    result = {
        "command": "python -m newlevels.bench.evaluator_cost " + " ".join(argv or sys.argv[1:]),
        "commit": checkout_commit(sys.executable),
        "machine": common.machine(),
        "load_start": common.load_average(),
    }
    with tempfile.TemporaryDirectory(prefix="newlevels-evaluator-") as scratch:
        result.update(measure(os.path.abspath(args.workdir), scratch, args.repeats))
    result["load_end"] = common.load_average()
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
