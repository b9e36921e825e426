"""A user's own TFX pipeline: stock upstream components, then the newlevels components.

    CsvExampleGen (the latest span) -> StatisticsGen -> SchemaGen
    Resolver (every span's Examples) -> Transform (the user's preprocessing_fn)
    ParentResolver (the model this pipeline last pushed) --------------+
    Transform -> IncrementalTrainer (extends the parent) <-------------+
              -> FullRetrainTrainer (every span, from scratch)
    Evaluator (the gate's EvalConfig) -> Decision -> Pusher / baseline Pusher

Each run ingests the newest `span-N/` folder. The stock Transform analyses and
transforms every span each run, so its vocabularies are recomputed (a token's
index may change from one span to the next); the incremental Trainer diffs them
against its parent's by token, so the parent's rows stay bit-identical anyway.
Both Trainers read every span's transformed rows: the full retrain learns from
all of them, the incremental Trainer trains only the rows holding a level its
parent lacks. (SpanRangeStrategy keeps every Examples artifact of a span: after
a run that failed past its ExampleGen, the span's rows are read twice.)
"""

from __future__ import annotations

import os

from google.protobuf import json_format
from tfx import v1 as tfx
from tfx.orchestration.beam.beam_dag_runner import BeamDagRunner

import newlevels
from examples.own_pipeline import preprocessing

#: the full retrain learns from (at most) this many of the latest spans.
SPAN_WINDOW = 1000
#: Beam in this process (Beam 2.74's default runner would try to download Prism).
BEAM_ARGS = ("--runner=FnApiRunner", "--direct_running_mode=in_memory", "--direct_num_workers=1")


def create_pipeline(
    pipeline_name: str,
    data_root: str,
    pipeline_root: str,
    serving_dir: str,
    metadata_path: str,
    gate: newlevels.Gate | None = None,
    options: newlevels.TrainingOptions | None = None,
) -> tfx.dsl.Pipeline:
    """The pipeline of one run: it ingests the newest span folder under `data_root`.

    Args:
        pipeline_name: the pipeline's name; the parent resolver and the Decision
            take it too, so a model is only ever extended by its own pipeline.
        data_root: holds `span-N/*.csv` folders.
        pipeline_root: where TFX writes artifacts.
        serving_dir: where the Pushers push.
        metadata_path: the SQLite MLMD store.
        gate: the gate's policy and budgets (None: the defaults).
        options: the Trainers' training options (None: the defaults).

    Returns:
        The TFX pipeline.
    """
    gate = gate or newlevels.Gate()
    example_gen = tfx.components.CsvExampleGen(
        input_base=data_root,
        input_config=tfx.proto.Input(
            splits=[tfx.proto.Input.Split(name="clicks", pattern="span-{SPAN}/*.csv")]
        ),
        output_config=tfx.proto.Output(
            split_config=tfx.proto.SplitConfig(
                splits=[
                    tfx.proto.SplitConfig.Split(name="train", hash_buckets=4),
                    tfx.proto.SplitConfig.Split(name="eval", hash_buckets=1),
                ],
                partition_feature_name="id",
            )
        ),
    )
    statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
    schema_gen = tfx.components.SchemaGen(statistics=statistics_gen.outputs["statistics"])
    # Every span this pipeline ingested. TFX's span resolver functions (all_spans)
    # read the `span` PROPERTY, which CsvExampleGen 1.16 leaves unset (it records a
    # custom property); SpanRangeStrategy reads the custom property.
    every_span = tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.SpanRangeStrategy,
        config={
            "range_config": tfx.proto.RangeConfig(
                rolling_range=tfx.proto.RollingRange(num_spans=SPAN_WINDOW)
            )
        },
        examples=tfx.dsl.Channel(
            type=tfx.types.standard_artifacts.Examples,
            producer_component_id=example_gen.id,
            output_key="examples",
        ),
    ).with_id("every_span")
    # A plain Channel reads every run's Examples but orders nothing: wait for this span's.
    every_span.add_upstream_node(example_gen)
    transform = tfx.components.Transform(
        examples=every_span.outputs["examples"],
        schema=schema_gen.outputs["schema"],
        preprocessing_fn=f"{preprocessing.__name__}.preprocessing_fn",
    )
    parent = newlevels.ParentResolver(pipeline_name).with_id("parent")
    settings = newlevels.trainer_settings(preprocessing.CATEGORICAL, options=options)
    transformed = {
        "examples": transform.outputs["transformed_examples"],
        "transform_graph": transform.outputs["transform_graph"],
        "settings": settings,
    }
    parent_model = parent.outputs["model"]
    candidate = newlevels.IncrementalTrainer(base_model=parent_model, **transformed).with_id(
        "candidate"
    )
    baseline = newlevels.FullRetrainTrainer(**transformed).with_id("full_retrain")
    eval_config = newlevels.eval_config(preprocessing.LABEL, gate, preprocessing.CATEGORICAL)
    evaluator = tfx.components.Evaluator(
        examples=example_gen.outputs["examples"],
        model=candidate.outputs["model"],
        baseline_model=baseline.outputs["model"],
        eval_config=eval_config,
        example_splits=["eval"],
    )
    decision = newlevels.Decision(
        evaluation=evaluator.outputs["evaluation"],
        candidate=candidate.outputs["model"],
        baseline=baseline.outputs["model"],
        parent=parent_model,
        eval_config=json_format.MessageToJson(eval_config),
        policy=gate.policy,
        pipeline_name=pipeline_name,
    )
    pusher = newlevels.Pusher(
        candidate.outputs["model"], decision.outputs["candidate_blessing"], serving_dir
    )
    baseline_pusher = newlevels.Pusher(
        baseline.outputs["model"], decision.outputs["baseline_blessing"], serving_dir
    ).with_id("baseline_pusher")
    return tfx.dsl.Pipeline(
        pipeline_name=pipeline_name,
        pipeline_root=pipeline_root,
        components=[
            example_gen,
            statistics_gen,
            schema_gen,
            every_span,
            transform,
            parent,
            candidate,
            baseline,
            evaluator,
            decision,
            pusher,
            baseline_pusher,
        ],
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            metadata_path
        ),
        beam_pipeline_args=list(BEAM_ARGS),
    )


def run(workdir: str, data_root: str, **settings) -> None:
    """Runs the pipeline once with BeamDagRunner, everything under `workdir`.

    Args:
        workdir: holds the pipeline root (`tfx/`), the MLMD store
            (`metadata.sqlite`) and the serving folder (`serving/`).
        data_root: holds `span-N/*.csv` folders; the newest one is ingested.
        **settings: `gate` and `options`, as `create_pipeline` takes them.
    """
    from newlevels.pipeline.local_runner import no_tfx_sdist, orchestration_runner

    pipeline = create_pipeline(
        pipeline_name="clicks",
        data_root=data_root,
        pipeline_root=os.path.join(workdir, "tfx"),
        serving_dir=os.path.join(workdir, "serving"),
        metadata_path=os.path.join(workdir, "metadata.sqlite"),
        **settings,
    )
    # BeamDagRunner's own orchestration pipeline runs on Beam's default runner; Beam
    # in this process needs no sdist of TFX for remote workers.
    with no_tfx_sdist(BEAM_ARGS), orchestration_runner():
        BeamDagRunner().run(pipeline)
