"""The `newlevels` subcommands: one module each, registered in `COMMANDS`.

A command module defines `NAME`, `HELP`, `add_arguments(parser)` and
`execute(args)`. Heavy imports stay inside `execute`.
"""

from __future__ import annotations

from newlevels.cli.commands import (
    bench,
    data,
    delta,
    demo,
    index,
    kfp,
    lineage,
    report,
    reproduce_seed,
    run,
)

COMMANDS = (run, data, demo, lineage, reproduce_seed, report, kfp, bench, delta, index)
