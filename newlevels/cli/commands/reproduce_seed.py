"""`newlevels reproduce-seed`: the seed post's toy experiment through every strategy."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from types import SimpleNamespace

NAME = "reproduce-seed"
HELP = "rerun the seed post's toy experiment with every strategy and write a results table"
RESULTS = "seed_results"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def format_table(results) -> str:
    """The results as a Markdown table, with the initial model's accuracy beside the post's.

    Args:
        results: a `pipeline.seed_experiment.SeedResults`, or its JSON read back by
            `from_json` (the README's block is rendered from the committed JSON).
    """
    header = ["method", "rows trained"]
    slice_names = tuple(results.methods[0].slices)
    for name in slice_names:
        header += [f"{name} acc", f"{name} AUC"]
    header += ["old rows max abs change", "seconds"]
    lines = [
        f"Initial model (levels 0-79), held-out accuracy: {results.initial_val_accuracy:.4f} "
        f"(the post: about {results.post_initial_val_accuracy:.2f})",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for method in results.methods:
        cells = [method.method, str(method.trained_rows)]
        for name in slice_names:
            scores = method.slices[name]
            cells += [_number(scores.accuracy), _number(scores.auc)]
        change = method.old_rows_max_abs_change
        cells += ["-" if change is None else f"{change:.4g}", f"{method.seconds:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    rows = results.methods[0].slices
    lines += [
        "",
        f"Held-out rows: {rows['old'].rows} of old levels, {rows['new'].rows} of new levels. "
        "Old rows max abs change: against the initial model's rows (0 means bit-identical). "
        "`initial` serves new levels from its OOV row (p = 0.5); `full` retrains all 100 "
        "levels from scratch. The first row's seconds include TensorFlow's start-up.",
    ]
    return "\n".join(lines)


def from_json(data: dict):
    """`SeedResults`' JSON (`write_results`) read back with attribute access, for `format_table`."""
    methods = [
        SimpleNamespace(
            **{**m, "slices": {k: SimpleNamespace(**v) for k, v in m["slices"].items()}}
        )
        for m in data["methods"]
    ]
    return SimpleNamespace(**{**data, "methods": methods})


def seed_lines(data: dict) -> list[str]:
    """The README block: the seed experiment's table from its committed JSON."""
    return format_table(from_json(data)).splitlines()


def write_results(results, out: str) -> tuple[str, str]:
    """Writes `seed_results.md` and `seed_results.json` under `out`; returns both paths."""
    os.makedirs(out, exist_ok=True)
    markdown = os.path.join(out, f"{RESULTS}.md")
    with open(markdown, "w", encoding="utf-8") as handle:
        handle.write("# The seed post's experiment, reproduced\n\n" + format_table(results) + "\n")
    data = os.path.join(out, f"{RESULTS}.json")
    with open(data, "w", encoding="utf-8") as handle:
        json.dump(dataclasses.asdict(results), handle, indent=2)
    return markdown, data


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="folder for seed_results.md and .json")
    parser.add_argument("--rows", type=int, default=5000, help="toy rows (default 5000)")
    parser.add_argument("--seed", type=int, default=0)


def execute(args: argparse.Namespace) -> None:
    from newlevels.pipeline.seed_experiment import run_seed_experiment

    results = run_seed_experiment(rows=args.rows, seed=args.seed)
    print(format_table(results))
    markdown, data = write_results(results, args.out)
    print(f"\nwritten: {markdown}, {data}")
