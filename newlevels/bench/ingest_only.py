"""Runs one span of the pipeline up to its Transform: `python ingest_only.py DATA SPAN WORKDIR
[RUN OPTIONS]` (the options of `newlevels run`, e.g. the columns).

The span cost benchmark (`span_cost.py`) runs this file, by path, with the
interpreter and `PYTHONPATH` of the checkout it measures, so it uses only what
every checkout has: the CLI's run options, `create_pipeline` and the local
runner. The pipeline `create_pipeline` builds is cut to the nodes that ingest
and transform (ExampleGen, FeatureSchemaGen, resolvers of earlier spans,
Transform): nothing downstream feeds them, so their work is the work they do
in a whole run, without the Trainers' and the Evaluator's minutes around it.
"""

from __future__ import annotations

import sys

#: node ids kept, across checkouts (before span-native ingestion: SpanHistoryExampleGen).
INGEST_NODES = (
    "SpanExampleGen",
    "SpanHistoryExampleGen",
    "FeatureSchemaGen",
    "latest_transform_graph_resolver",
    "Transform",
)


def main(argv: list[str]) -> None:
    from tfx import v1 as tfx

    from newlevels import cli
    from newlevels.cli.commands import options
    from newlevels.pipeline import local_runner
    from newlevels.pipeline import pipeline as pipeline_module

    data, span, workdir, *run_options = argv
    args = cli.build_parser().parse_args(
        ["run", "--data", data, "--span", span, "--workdir", workdir, *run_options]
    )
    config = options.run_config(args, args.data, args.span, args.workdir)
    whole = pipeline_module.create_pipeline

    def ingest_only(*pargs, **kwargs) -> tfx.dsl.Pipeline:
        built = whole(*pargs, **kwargs)
        kept = [c for c in built.components if c.id in INGEST_NODES]
        for component in kept:
            for downstream in list(component.downstream_nodes):
                if downstream not in kept:
                    component.remove_downstream_node(downstream)
        return tfx.dsl.Pipeline(
            pipeline_name=built.pipeline_info.pipeline_name,
            pipeline_root=built.pipeline_info.pipeline_root,
            components=kept,
            enable_cache=False,
            metadata_connection_config=built.metadata_connection_config,
            beam_pipeline_args=built.beam_pipeline_args,
        )

    pipeline_module.create_pipeline = ingest_only
    local_runner.run_pipeline(config)


if __name__ == "__main__":
    main(sys.argv[1:])
