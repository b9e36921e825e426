"""`newlevels data`: write a shipped or generated data set as span folders."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Mapping
from typing import Any

NAME = "data"
HELP = "write a data set as span folders: movielens, toy, or a generated drift timeline"
DATASETS = ("movielens", "toy", "drift")


def _drift_fields() -> tuple[dataclasses.Field, ...]:
    from newlevels.pipeline.data.drift import DriftSettings

    return tuple(f for f in dataclasses.fields(DriftSettings) if f.name != "spans")


def write(
    dataset: str,
    out: str,
    spans: int | str | None = None,
    drift_options: Mapping[str, Any] | None = None,
) -> dict[int, int]:
    """Writes `dataset` under `out` as `span-k/` folders.

    Args:
        dataset: one of `DATASETS`.
        out: the data root to write.
        spans: movielens: 2, 3 or "yearly" (default 2); drift: the number of spans
            (default `DriftSettings.spans`); the toy has none.
        drift_options: `DriftSettings` fields other than `spans` (drift only).

    Returns:
        rows written per span.

    Raises:
        ConfigError: an option the data set does not take, or out of range.
    """
    from newlevels.pipeline.errors import ConfigError

    if drift_options and dataset != "drift":
        flags = ", ".join("--" + name.replace("_", "-") for name in drift_options)
        raise ConfigError(f"{flags}: options of `newlevels data drift` only")
    if dataset == "movielens":
        from newlevels.pipeline.data.movielens import SPAN_BOUNDARIES, write_movielens

        key = "2" if spans is None else str(spans)
        if key not in SPAN_BOUNDARIES:
            raise ConfigError(f"--spans {spans}: movielens takes {', '.join(SPAN_BOUNDARIES)}")
        return write_movielens(out, SPAN_BOUNDARIES[key])
    if dataset == "drift":
        from newlevels.pipeline.data.drift import DriftSettings, write_drift

        options = dict(drift_options or {})
        if spans is not None:
            if not str(spans).isdigit():
                raise ConfigError(f"--spans {spans}: drift takes a number of spans")
            options["spans"] = int(spans)
        return write_drift(out, DriftSettings(**options))
    if spans is not None:
        raise ConfigError("--spans: the toy data set has its two spans only")
    from newlevels.pipeline.data.toy import write_toy

    return write_toy(out)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", choices=DATASETS)
    parser.add_argument("--out", required=True)
    parser.add_argument(
        "--spans",
        default=None,
        help="movielens: 2 (before 2014, 2014 on), 3 (before 2014, 2014, 2015 on) or yearly "
        "(<=1999, 2000, 2001-02, 2003-04, 2005, 2006, 2007-09, 2010-12, 2013-16) "
        "(default: 2); drift: the number of spans (default: 9)",
    )
    group = parser.add_argument_group("drift (a generated user x item timeline)")
    for field in _drift_fields():
        group.add_argument(
            "--" + field.name.replace("_", "-"),
            dest=f"drift_{field.name}",
            type=type(field.default),
            default=None,
            metavar="P" if isinstance(field.default, float) else "N",
            help=f"{field.metadata['help']} (default: {field.default})",
        )


def execute(args: argparse.Namespace) -> None:
    drift_options = {
        field.name: value
        for field in _drift_fields()
        if (value := getattr(args, f"drift_{field.name}")) is not None
    }
    written = write(args.dataset, args.out, args.spans, drift_options)
    spans = ", ".join(f"span {k}: {n} rows" for k, n in written.items())
    print(f"wrote {args.dataset} to {args.out}: {spans}")
    if args.dataset == "drift":
        from newlevels.pipeline.data.drift import RUN_FLAGS

        print(f"run its spans with: newlevels run {' '.join(RUN_FLAGS)} ...")
