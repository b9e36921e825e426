"""The gate's flags: the decision policy, its budgets and the baseline schedule.

Each default is read from the field the flag sets (`contracts.gate.Gate`,
`contracts.baseline.DEFAULT`), so it is written once.
"""

from __future__ import annotations

import argparse


def add_gate_options(parser: argparse.ArgumentParser) -> None:
    """Adds `--policy` (and its alias), `--min-auc`, `--tolerance`, `--staleness-budget`
    and `--baseline` to a run's parser."""
    from newlevels.contracts import baseline, gate

    defaults = gate.Gate()
    parser.add_argument(
        "--policy",
        default=defaults.policy,
        choices=gate.POLICIES,
        help="what the gate serves when the extension fails it: extend-or-rebase pushes the "
        "span's full retrain instead (if it reaches --min-auc), extend-only pushes nothing "
        f"(default: {defaults.policy})",
    )
    parser.add_argument(
        "--promote-baseline-on-reject",
        dest="policy",
        action="store_const",
        const=gate.EXTEND_OR_REBASE,
        help=f"alias of --policy {gate.EXTEND_OR_REBASE}",
    )
    parser.add_argument(
        "--min-auc",
        type=float,
        default=defaults.min_auc,
        help=f"the value floor: a pushed model's AUC reaches this (default: {defaults.min_auc})",
    )
    parser.add_argument(
        "--tolerance",
        "--max-auc-drop",
        dest="tolerance",
        type=float,
        default=defaults.tolerance,
        help="how far the extension's AUC may be below the span's full retrain's, overall "
        f"and on new-level rows (--max-auc-drop is its old name) (default: {defaults.tolerance})",
    )
    parser.add_argument(
        "--staleness-budget",
        type=float,
        default=defaults.staleness_budget,
        help="how far the extension's AUC on rows with only old levels (its parent's rows) may "
        f"be below the full retrain's (default: {defaults.staleness_budget})",
    )
    parser.add_argument(
        "--baseline",
        default=baseline.DEFAULT,
        help="when the full retrain (the gate's yardstick) runs: every span, every:K (once K "
        "spans have passed since the last one, and on the run after a hold that asked for one) "
        "or off; a span without it is gated against the last one's recorded AUCs and can only "
        f"extend or hold (default: {baseline.DEFAULT})",
    )
