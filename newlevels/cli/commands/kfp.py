"""`newlevels kfp`: compile for Kubeflow Pipelines / Vertex AI, or print per-run parameter values.

    newlevels kfp compile --out pipeline.json --pipeline-root gs://bucket/newlevels [...]
    newlevels kfp values --pipeline-root gs://bucket/newlevels --span 3 [...]

Both take the run options of `newlevels run`; `compile` makes them the runtime
parameters' defaults, `values` prints the parameter values they give (JSON), to
pass to a run of the compiled pipeline.
"""

from __future__ import annotations

import argparse
import posixpath

from newlevels.cli.commands import options

NAME = "kfp"
HELP = "compile for Kubeflow Pipelines / Vertex AI, or print runtime parameter values"


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pipeline-root",
        required=True,
        help="where every container reads and writes (gs://...): artifacts go to ROOT/tfx, "
        "blessed models to ROOT/serving",
    )
    parser.add_argument(
        "--data-root",
        help="the span-N/ folders of CSV, Parquet or TFRecord files (default: PIPELINE_ROOT/data)",
    )
    parser.add_argument("--span", type=int, default=1, help="the span to ingest (default: 1)")
    options.add_run_options(parser)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from newlevels.kubeflow.compile import DEFAULT_IMAGE

    actions = parser.add_subparsers(dest="action", required=True)
    compile_parser = actions.add_parser("compile", help="write the compiled pipeline")
    compile_parser.add_argument(
        "--out", required=True, help="pipeline.json (a PipelineJob) or pipeline.yaml (a spec)"
    )
    compile_parser.add_argument(
        "--image",
        default=DEFAULT_IMAGE,
        help=f"image built from newlevels/kubeflow/Dockerfile, in a registry the cluster "
        f"pulls from "
        f"(default: {DEFAULT_IMAGE})",
    )
    add_common(compile_parser)
    add_common(actions.add_parser("values", help="print runtime parameter values as JSON"))


def kfp_config(args: argparse.Namespace):
    """The RunConfig of a Kubeflow run: every path under the pipeline root unless given."""
    from newlevels.pipeline.errors import ConfigError

    data_root = args.data_root or posixpath.join(args.pipeline_root, "data")
    config = options.run_config(args, data_root, args.span, args.pipeline_root)
    if not config.baseline.always:
        raise ConfigError(
            f"--baseline {config.baseline}: the schedule is read from the store before a local "
            "run; a compiled pipeline trains the full retrain on every span (use --baseline every)"
        )
    return config


def execute(args: argparse.Namespace) -> None:
    import json

    config = kfp_config(args)
    if args.action == "values":
        from newlevels.pipeline.parameters import parameter_values

        print(json.dumps(parameter_values(config), indent=1, sort_keys=True))
        return
    from newlevels.kubeflow.compile import compile_job, write_job

    job = compile_job(config, args.image)
    write_job(job, args.out)
    names = ", ".join(sorted(job["runtimeConfig"]["parameterValues"]))
    print(f"wrote {args.out} (image {args.image}; runtime parameters: {names})")
