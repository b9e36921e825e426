"""The Evaluator's cost per evaluation row: the stock TFX Evaluator as a span runs it.

Takes a workdir whose last run evaluated (e.g. MovieLens span 2 after span 1)
and runs TFX's Evaluator executor again on that run's inputs, read from MLMD
(the span's Examples, candidate, full retrain and schema), once per variant per
repeat, the variants alternating within each repeat so that a change of load
falls on each alike:

- `both models`: the EvalConfig the run used (candidate and full retrain);
- `candidate alone`: what a span that skips its full retrain runs
  (`--baseline every:K`): the candidate against floors at recorded AUCs.

The candidate's sliced AUCs must be the same in both (checked), and the first
variant's output is decided by the Decision's own code (`decide_span`).

    python -m newlevels.bench.evaluator_cost --workdir WORK --out benchmarks/evaluator
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
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


BOTH, ALONE = "both models", "candidate alone"


def variants(found: dict) -> dict[str, tuple[str, dict]]:
    """{name: (eval_config JSON, Evaluator inputs)}: the run's config, and the candidate alone.

    The candidate alone is floored at the full retrain's AUCs of the same run
    (as a later span would be at these recorded ones).
    """
    import tensorflow_model_analysis as tfma
    from google.protobuf import json_format

    from newlevels.components.evaluation.eval_config import eval_config, gate_of
    from newlevels.components.evaluation.metrics import BASELINE, read_slice_metrics
    from newlevels.contracts.signatures import COHORT_KEY

    before = found["properties"]["eval_config"]
    config = json_format.Parse(before, tfma.EvalConfig())
    keys = {key for spec in config.slicing_specs for key in spec.feature_keys}
    features = sorted(key[len(COHORT_KEY) + 1 :] for key in keys if key != COHORT_KEY)
    gate = gate_of(config, found["decision_properties"]["policy"])
    evaluation = found["decision_inputs"]["evaluation"].uri
    recorded = {n: v["auc"] for n, v in read_slice_metrics(evaluation)[BASELINE].items()}
    alone = eval_config(config.model_specs[0].label_key, gate, features, recorded)
    inputs = {k: v for k, v in found["inputs"].items() if k != "baseline_model"}
    return {
        BOTH: (before, found["inputs"]),
        ALONE: (json_format.MessageToJson(alone, sort_keys=True, indent=None), inputs),
    }


def measure(workdir: str, scratch: str, repeats: int) -> dict[str, Any]:
    """Times each variant `repeats` times, alternating, on the last run's inputs."""
    from newlevels.components.evaluation.metrics import CANDIDATE, read_slice_metrics

    found = evaluator_inputs(workdir)
    configs = variants(found)
    seconds: dict[str, list[float]] = {name: [] for name in configs}
    aucs: dict[str, dict] = {}
    decisions = set()
    for repeat in range(repeats):
        for name, (config, inputs) in configs.items():
            out = os.path.join(scratch, f"{name.replace(' ', '-')}-{repeat}")
            took = run_evaluator(inputs, found["properties"], config, out)
            seconds[name].append(round(took, 2))
            metrics = read_slice_metrics(out)[CANDIDATE]
            aucs[name] = {slice_name: v["auc"] for slice_name, v in metrics.items()}
            rows = metrics["overall"]["examples"]
            if name == BOTH:
                decisions.add(decide(found, out))
    if aucs[BOTH] != aucs[ALONE]:
        raise common.BenchError(f"the candidate's AUCs differ: {aucs}")
    medians = {name: common.median(times) for name, times in seconds.items()}
    return {
        "eval_rows": rows,
        "seconds": seconds,
        "median_s": medians,
        "ms_per_row": {name: round(1000 * m / rows, 3) for name, m in medians.items()},
        "ratio": round(medians[ALONE] / medians[BOTH], 3),
        "candidate_auc": aucs[BOTH],
        "decisions": sorted(decisions),
    }


def markdown(result: dict[str, Any]) -> str:
    """The results page: the command, the machine, ms per evaluation row per variant."""
    from newlevels.bench.markdown import table

    rows = [
        (name, result["seconds"][name], result["median_s"][name], result["ms_per_row"][name])
        for name in result["seconds"]
    ]
    return "\n".join(
        [
            "# The Evaluator's cost per evaluation row",
            "",
            f"Command: `{result['command']}` (checkout {result['commit']})",
            "Machine: "
            + ", ".join(f"{key} {value}" for key, value in result["machine"].items())
            + f"; load at start {result['load_start']}, at end {result['load_end']}",
            "",
            f"TFX's Evaluator executor on the last run's inputs ({result['eval_rows']} "
            f"evaluation rows), `{BOTH}` as the run configured it, `{ALONE}` as a span that "
            "skips its full retrain runs it; the candidate's sliced AUCs are the same in both.",
            "",
            *table(("variant", "seconds", "median s", "ms per row"), rows),
            f"Candidate alone / both models: **{result['ratio']}x**; decision of the run's "
            f"config: {', '.join(result['decisions'])}.",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/evaluator")
    parser.add_argument("--workdir", required=True, help="a workdir that ran spans 1 and 2")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--label", default="movielens-span-2")
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
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, f"{args.label}.json"), "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1)
    with open(os.path.join(out, f"{args.label}.md"), "w", encoding="utf-8") as handle:
        handle.write(markdown(result) + "\n")
    print(f"results: {out}/{args.label}.md")


if __name__ == "__main__":
    main()
