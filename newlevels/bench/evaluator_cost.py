"""The Evaluator's cost per evaluation row: the stock TFX Evaluator as a span runs it.

Takes a workdir whose last run evaluated (e.g. MovieLens span 2 after span 1)
and runs TFX's Evaluator executor again on that run's inputs, read from MLMD
(the span's Examples, candidate, full retrain and schema), once per variant and
size per repeat, the variants alternating within each repeat (every other repeat
in reverse, after one untimed run) so that a change of load falls on each alike:

- `before: both models`: the EvalConfig the run recorded (a workdir run by an
  earlier checkout holds that checkout's config);
- `after: both models`: this checkout's EvalConfig for the same gate and features;
- `after: candidate alone`: this checkout's for a span that skips its full
  retrain (`--baseline every:K`): the candidate against floors at recorded AUCs.

Each runs on the span's evaluation rows and on the same rows `--copies` times
over: the first gives the cost per row of a run (fixed costs included), the
slope between the two the marginal cost of a row. The candidate's sliced AUCs
must be the same in every variant (checked), and the decisions before and after
are made by the Decision's own code (`decide_span`).

    python -m newlevels.bench.evaluator_cost --workdir WORK --out benchmarks/evaluator
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from typing import Any

from newlevels.bench import common
from newlevels.bench.evaluator_harness import (
    decide,
    evaluator_inputs,
    repeated_examples,
    run_evaluator,
)
from newlevels.bench.span_cost import checkout_commit

BEFORE, AFTER, ALONE = "before: both models", "after: both models", "after: candidate alone"


def variants(found: dict) -> dict[str, tuple[str, dict]]:
    """{name: (eval_config JSON, Evaluator inputs)}: the run's config, this checkout's, and
    this checkout's for the candidate alone.

    The candidate alone is floored at the full retrain's AUCs of the same run
    (as a later span would be at these recorded ones).
    """
    import tensorflow_model_analysis as tfma
    from google.protobuf import json_format

    from newlevels.components.evaluation.eval_config import eval_config, gate_of
    from newlevels.components.evaluation.metrics import BASELINE, read_slice_metrics
    from newlevels.contracts.signatures import COHORT_KEY

    recorded_config = found["properties"]["eval_config"]
    config = json_format.Parse(recorded_config, tfma.EvalConfig())
    keys = {key for spec in config.slicing_specs for key in spec.feature_keys}
    features = sorted(key[len(COHORT_KEY) + 1 :] for key in keys if key != COHORT_KEY)
    gate = gate_of(config, found["decision_properties"]["policy"])
    evaluation = found["decision_inputs"]["evaluation"].uri
    recorded = {n: v["auc"] for n, v in read_slice_metrics(evaluation)[BASELINE].items()}
    label = config.model_specs[0].label_key
    inputs = {k: v for k, v in found["inputs"].items() if k != "baseline_model"}

    def as_json(built) -> str:
        return json_format.MessageToJson(built, sort_keys=True, indent=None)

    return {
        BEFORE: (recorded_config, found["inputs"]),
        AFTER: (as_json(eval_config(label, gate, features)), found["inputs"]),
        ALONE: (as_json(eval_config(label, gate, features, recorded)), inputs),
    }


def measure(workdir: str, scratch: str, repeats: int, copies: int) -> dict[str, Any]:
    """Times each variant `repeats` times on the span's rows and on `copies` times them,
    alternating, on the last run's inputs."""
    from newlevels.components.evaluation.metrics import CANDIDATE, read_slice_metrics

    found = evaluator_inputs(workdir)
    configs = variants(found)
    splits = json.loads(found["properties"]["example_splits"])
    [examples] = found["inputs"]["examples"]
    sizes = {1: examples, copies: repeated_examples(examples, splits, copies, scratch + "/rows")}
    seconds = {name: {size: [] for size in sizes} for name in configs}
    aucs: dict[str, dict] = {}
    decisions: dict[str, set] = {BEFORE: set(), AFTER: set()}
    # One untimed run first: the process's one-time costs (lazy imports, TF's
    # kernels) would otherwise fall on whichever variant runs first.
    run_evaluator(found["inputs"], found["properties"], configs[AFTER][0], scratch + "/warm-up")
    runs = [(size, name) for size in sizes for name in configs]
    for repeat in range(repeats):
        # Every other repeat in reverse, so that a drift of the load falls on each alike.
        for size, name in runs if repeat % 2 == 0 else runs[::-1]:
            config, inputs = configs[name]
            out = os.path.join(scratch, f"{list(configs).index(name)}-{size}-{repeat}")
            inputs = {**inputs, "examples": [sizes[size]]}
            took = run_evaluator(inputs, found["properties"], config, out)
            seconds[name][size].append(round(took, 2))
            if size != 1:
                continue
            metrics = read_slice_metrics(out)[CANDIDATE]
            aucs[name] = {slice_name: v["auc"] for slice_name, v in metrics.items()}
            rows = metrics["overall"]["examples"]
            if name in decisions:
                decisions[name].add(decide(found, out))
    if len({json.dumps(a, sort_keys=True) for a in aucs.values()}) != 1:
        raise common.BenchError(f"the candidate's AUCs differ: {aucs}")
    medians = {n: {size: common.median(t) for size, t in by.items()} for n, by in seconds.items()}
    return {
        "eval_rows": rows,
        "copies": copies,
        "seconds": {n: {str(size): t for size, t in by.items()} for n, by in seconds.items()},
        "ms_per_row": {n: round(1000 * m[1] / rows, 3) for n, m in medians.items()},
        "marginal_ms_per_row": {
            n: round(1000 * (m[copies] - m[1]) / ((copies - 1) * rows), 3)
            for n, m in medians.items()
        },
        "candidate_auc": aucs[BEFORE],
        "decisions": {name: sorted(found) for name, found in decisions.items()},
    }


def per_run_at_copies(result: dict[str, Any]) -> dict[str, float]:
    """{variant: ms per row of a run on the rows `copies` times over} (fixed costs thinner)."""
    copies, rows = result["copies"], result["eval_rows"]
    return {
        name: round(1000 * common.median(by[str(copies)]) / (copies * rows), 3)
        for name, by in result["seconds"].items()
    }


def ratios(result: dict[str, Any]) -> dict[str, float]:
    """After over before: per run, per run on the larger rows, and per marginal row."""
    found = {
        key: round(result[key][AFTER] / result[key][BEFORE], 3)
        for key in ("ms_per_row", "marginal_ms_per_row")
    }
    larger = per_run_at_copies(result)
    found["ms_per_row_copies"] = round(larger[AFTER] / larger[BEFORE], 3)
    return found


def markdown(result: dict[str, Any]) -> str:
    """The results page: the command, the machine, ms per evaluation row per variant."""
    from newlevels.bench.markdown import table

    copies = result["copies"]
    larger = per_run_at_copies(result)
    rows = [
        (
            name,
            by["1"],
            by[str(copies)],
            result["ms_per_row"][name],
            larger[name],
            result["marginal_ms_per_row"][name],
        )
        for name, by in result["seconds"].items()
    ]
    ratio = ratios(result)
    decisions = result["decisions"]
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
            f"evaluation rows, and the same rows {copies} times over), the variants "
            "alternating (after one untimed run; every other repeat in reverse order): "
            f"`{BEFORE}` under the EvalConfig the run recorded, `{AFTER}` under "
            f"this checkout's, `{ALONE}` as a span that skips its full retrain runs it. "
            "Per run: the median seconds on the span's rows over its rows; marginal: the "
            f"slope between the two sizes. The candidate's sliced AUCs are the same in all.",
            "",
            *table(
                (
                    "variant",
                    "seconds (span's rows)",
                    f"seconds ({copies}x rows)",
                    "ms per row (per run)",
                    f"ms per row (per run, {copies}x rows)",
                    "ms per row (marginal)",
                ),
                rows,
            ),
            f"After / before: **{ratio['ms_per_row']}x** per run, "
            f"**{ratio['ms_per_row_copies']}x** per run on {copies}x rows, "
            f"**{ratio['marginal_ms_per_row']}x** marginal; decision before: "
            f"{', '.join(decisions[BEFORE])}, after: {', '.join(decisions[AFTER])}.",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/evaluator")
    parser.add_argument("--workdir", required=True, help="a workdir that ran spans 1 and 2")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--copies", type=int, default=4, help="the larger size: the span's rows this many times"
    )
    parser.add_argument("--label", default="movielens-span-2")
    args = parser.parse_args(argv)
    if args.copies < 2:
        parser.error("--copies must be at least 2 (the slope needs two sizes)")
    result = {
        "command": "python -m newlevels.bench.evaluator_cost " + " ".join(argv or sys.argv[1:]),
        "commit": checkout_commit(sys.executable),
        "machine": common.machine(),
        "load_start": common.load_average(),
    }
    with tempfile.TemporaryDirectory(prefix="newlevels-evaluator-") as scratch:
        result.update(measure(os.path.abspath(args.workdir), scratch, args.repeats, args.copies))
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
