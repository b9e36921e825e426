"""Where the extension's gap on new-level rows comes from: its new rows, or its stale old rows.

For each span k >= 2 (mode `rebase`: the parent is span k-1's full retrain,
default options), it scores span k's evaluation rows with four `additive`
models built from two sets of rows, the extension's and span k's full
retrain's:

- `extension`: the extension's rows (new rows started and trained, old rows frozen);
- `full`: the full retrain's rows;
- `extension, fresh old rows`: the extension's new rows, the full retrain's old rows;
- `stale old rows, full's new rows`: the extension's (the parent's) old rows, the
  full retrain's new rows.

If swapping in the full retrain's old rows closes a cohort's gap, the gap is
the staleness of the frozen old rows (what `--init` cannot change); if swapping
in its new rows closes it, the gap is where the new rows start and train.

The swaps score rows only: the extension is fitted with `--context frozen`. A
last column, `extension, context refresh`, scores the default extension
(`--context refresh`) with its own SavedModel logic (`model(features)`): its
new rows with the frozen old rows, plus its old levels' corrections on rows
holding a new level.

    python -m newlevels.bench.init_sweep_swap [--out benchmarks]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from collections.abc import Mapping
from typing import Any

import numpy as np

from newlevels.bench.markdown import table

MODEL = "additive"
#: the cohorts compared (`init_cohorts.COHORTS`), those that hold new levels.
COHORTS = ("overall", "new_item", "new_user", "cold", "warm")
#: (column, which set gives the old rows, which set gives the new rows).
SWAPS = (
    ("extension", "extension", "extension"),
    ("full", "full", "full"),
    ("extension, fresh old rows", "full", "extension"),
    ("stale old rows, full's new rows", "extension", "full"),
)
#: the default extension, scored by the model itself (rows and corrections).
REFRESH = "extension, context refresh"


def row_sums(exported) -> dict[str, dict[str | None, float]]:
    """Per feature, each token's row sum (its whole part of the additive logit); None: OOV."""
    return {
        f: {
            **dict(zip(rows.vocabulary, rows.weights.astype(np.float64).sum(-1), strict=True)),
            None: float(rows.oov.astype(np.float64).sum()),
        }
        for f, rows in exported.features.items()
    }


def logits(
    sources: Mapping[str, dict[str, dict[str | None, float]]],
    old: str,
    new: str,
    known: Mapping[str, set[str]],
    tokens: Mapping[str, np.ndarray],
) -> np.ndarray:
    """Each row's additive logit: old levels' sums from `old`, new levels' from `new`.

    Args:
        sources: per model, `row_sums` of its rows.
        old: the model whose old rows (the parent's levels, and the OOV row, which an
            extension also keeps frozen) score.
        new: the model whose new rows score.
        known: per feature, the parent's levels.
        tokens: per feature, each row's token.

    Returns:
        The logits, float64.
    """
    total = np.zeros(len(next(iter(tokens.values()))))
    for f, column in tokens.items():
        old_rows, new_rows = sources[old][f], sources[new][f]
        total += np.array(
            [old_rows[t] if t in known[f] else new_rows.get(t, old_rows[None]) for t in column]
        )
    return total


def run() -> dict[str, Any]:
    """Every span's AUC per cohort and swap (raw results)."""
    from newlevels.bench import common, init_cohorts, init_sweep, yearly
    from newlevels.components.trainer.settings import Role

    spans = yearly.load_spans()
    full_settings = init_sweep.settings_for(MODEL, Role.FULL, {})
    extension_settings = init_sweep.settings_for(MODEL, Role.INCREMENTAL, {"context": "frozen"})
    refresh_settings = init_sweep.settings_for(MODEL, Role.INCREMENTAL, {"context": "refresh"})
    load, per_span, parent = [common.load_average()], {}, None
    for k, span in enumerate(spans):
        rows = yearly.Rows.concat([span.earlier, span.train])
        full = init_sweep.train_one(full_settings, span, None, rows)[0].as_parent()
        if parent is not None:
            extension = init_sweep.train_one(extension_settings, span, parent, span.train)[0]
            sources = {"extension": row_sums(extension.as_parent()), "full": row_sums(full)}
            known = {f: set(v) for f, v in spans[k - 1].vocabulary.items()}
            masks = init_cohorts.masks(span, spans[k - 1])
            labels = span.eval.labels
            scores = {
                name: logits(sources, old, new, known, span.eval.tokens) for name, old, new in SWAPS
            }
            refreshed = init_sweep.train_one(refresh_settings, span, parent, span.train)[0]
            scores[REFRESH] = init_sweep.predict(refreshed.model, span.eval)
            per_span[str(span.number)] = {
                c: {n: init_cohorts.auc(labels[masks[c]], s[masks[c]]) for n, s in scores.items()}
                for c in COHORTS
            }
            print(span.number, per_span[str(span.number)]["new_item"], flush=True)
        parent = full
    load.append(common.load_average())
    return {"model": MODEL, "spans": per_span, "machine": common.machine(), "load_average": load}


def median_gap(per_span: dict[str, Any], cohort: str, column: str) -> str:
    """The median over spans of `column`'s AUC minus the full retrain's."""
    gaps = [
        s[cohort][column] - s[cohort]["full"]
        for s in per_span.values()
        if s[cohort][column] is not None and s[cohort]["full"] is not None
    ]
    return f"{statistics.median(gaps):+.4f}" if gaps else "-"


def markdown(results: dict[str, Any]) -> str:
    """The results page: medians, then every span."""
    machine, per_span = results["machine"], results["spans"]
    columns = [*(name for name, _, _ in SWAPS if name != "full"), REFRESH]
    every = [*(name for name, _, _ in SWAPS), REFRESH]
    lines = [
        "# Init sweep, swapped rows: is the gap the new rows or the stale old rows?",
        "",
        "Regenerate with `.venv/bin/python -m newlevels.bench.init_sweep_swap` (no TFX; "
        "`--model additive`, default options but `--context`, mode `rebase`).",
        f"Measured {machine['date']} on {machine['cores']} cores; load average (1/5/15 min) "
        f"before and after: {results['load_average']}.",
        "",
        "Each span's evaluation rows are scored with the additive logit built from two sets "
        "of rows: the extension's and the span's full retrain's. `fresh old rows`: the "
        "extension's new rows with the full retrain's old rows (what the extension would "
        "score if its frozen rows were not stale). `stale old rows, full's new rows`: the "
        "other swap. A cohort's gap that the first swap closes is staleness, which `--init` "
        "cannot change. The swaps use an extension fitted with `--context frozen`; "
        "`extension, context refresh` is the default extension, scored by its model: its "
        "rows plus its old levels' corrections on rows holding a new level.",
        "",
        "## Median over spans 2-9 of AUC minus the full retrain's",
        "",
        *table(
            ["cohort", *columns],
            [[c, *(median_gap(per_span, c, n) for n in columns)] for c in COHORTS],
        ),
        "## Per span (AUC)",
        "",
    ]
    for cohort in COHORTS:
        lines += [f"### {cohort}", ""]
        lines += table(
            ["span", *every],
            [
                [n, *("-" if s[cohort].get(m) is None else f"{s[cohort][m]:.4f}" for m in every)]
                for n, s in per_span.items()
            ],
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks")
    args = parser.parse_args(argv)
    results = run()
    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, "init_sweep_swap")
    with open(f"{stem}.json", "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=1)
    with open(f"{stem}.md", "w", encoding="utf-8") as handle:
        handle.write(markdown(results))
    print(f"results: {stem}.md\nraw:     {stem}.json")


if __name__ == "__main__":
    main()
