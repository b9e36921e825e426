"""A plain TFX pipeline that blesses a model with the stock Evaluator (no newlevels code).

It stands for any other team's pipeline sharing the MLMD store: two Importers
(evaluation examples and a tiny SavedModel written here) and the stock Evaluator,
whose threshold (at least one example) always passes, so its ModelBlessing says
`blessed=1` for a model no newlevels pipeline may ever extend.
"""

from __future__ import annotations

import os

import tensorflow as tf
import tensorflow_model_analysis as tfma
from tfx import v1 as tfx
from tfx.orchestration.beam.beam_dag_runner import BeamDagRunner

from newlevels.pipeline.local_runner import orchestration_runner

NAME = "plain-tfx"
BEAM_ARGS = ["--runner=FnApiRunner", "--direct_running_mode=in_memory", "--direct_num_workers=1"]


class _Tiny(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve(self, examples):
        parsed = tf.io.parse_example(examples, {"x": tf.io.FixedLenFeature([1], tf.float32)})
        return {"probability": tf.sigmoid(parsed["x"])}


def write_inputs(folder: str) -> tuple[str, str]:
    """Writes evaluation examples (`Split-eval/`) and a SavedModel; returns both folders."""
    examples = os.path.join(folder, "examples")
    os.makedirs(os.path.join(examples, "Split-eval"))
    with tf.io.TFRecordWriter(os.path.join(examples, "Split-eval", "data.tfrecord")) as writer:
        for i in range(20):
            features = {
                "x": tf.train.Feature(float_list=tf.train.FloatList(value=[i / 10 - 1])),
                "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[i % 2])),
            }
            writer.write(
                tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()
            )
    model = os.path.join(folder, "model")
    tiny = _Tiny()
    tf.saved_model.save(
        tiny, os.path.join(model, "Format-Serving"), signatures={"serving_default": tiny.serve}
    )
    return examples, model


def run(folder: str, connection_config) -> None:
    """Runs the pipeline once against the MLMD store of `connection_config`."""
    examples_dir, model_dir = write_inputs(folder)
    examples = tfx.dsl.Importer(
        source_uri=examples_dir,
        artifact_type=tfx.types.standard_artifacts.Examples,
        properties={"split_names": '["eval"]'},
    ).with_id("examples")
    model = tfx.dsl.Importer(
        source_uri=model_dir, artifact_type=tfx.types.standard_artifacts.Model
    ).with_id("model")
    always = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": 1})
    )
    evaluator = tfx.components.Evaluator(
        examples=examples.outputs["result"],
        model=model.outputs["result"],
        eval_config=tfma.EvalConfig(
            model_specs=[tfma.ModelSpec(label_key="label", signature_name="serving_default")],
            slicing_specs=[tfma.SlicingSpec()],
            metrics_specs=[
                tfma.MetricsSpec(
                    metrics=[tfma.MetricConfig(class_name="ExampleCount", threshold=always)]
                )
            ],
        ),
        example_splits=["eval"],
    )
    pipeline = tfx.dsl.Pipeline(
        pipeline_name=NAME,
        pipeline_root=os.path.join(folder, "root"),
        components=[examples, model, evaluator],
        metadata_connection_config=connection_config,
        beam_pipeline_args=BEAM_ARGS,
    )
    with orchestration_runner():
        BeamDagRunner().run(pipeline)
