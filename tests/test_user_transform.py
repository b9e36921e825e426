"""The Trainer on a user's own Transform output: extra features, integer tokens, no row id.

`tests/user_transform.py`'s `preprocessing_fn` runs through the real TFX Transform
executor over two spans whose rows mix old and new levels; the real `train.train`
and export then train a first model and extend it.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx.components.transform.executor import Executor as TransformExecutor
from tfx.dsl.components.base.base_beam_executor import BaseBeamExecutor
from tfx.types import artifact_utils, standard_artifacts
from tfx.types import standard_component_specs as keys
from tfx.utils import io_utils

from newlevels.components.trainer import artifacts, export, parent, train
from newlevels.components.trainer.settings import Role, TrainerSettings, TrainingOptions
from newlevels.pipeline.config import DEFAULT_BEAM_ARGS
from newlevels.pipeline.pipeline import dotted_name
from newlevels.transforms import vocabularies
from newlevels.transforms.features import CategoricalFeature, DataSpec
from tests import user_transform

pytestmark = pytest.mark.e2e

SPEC = DataSpec.build(user_transform.CATEGORICAL, "rating", "id")
#: span 1's levels, and the levels span 2 adds (its rows mix them with old ones).
MOVIES = {1: range(40), 2: range(55)}
USERS = {1: [f"u{k}" for k in range(12)], 2: [f"u{k}" for k in range(16)]}
SPLITS = ("train", "eval")


def raw_example(movie: int, user: str, rating: float, age: float) -> tf.train.Example:
    feature = {
        "movieId": tf.train.Feature(int64_list=tf.train.Int64List(value=[movie])),
        "userId": tf.train.Feature(bytes_list=tf.train.BytesList(value=[user.encode()])),
        "rating": tf.train.Feature(float_list=tf.train.FloatList(value=[rating])),
        "age": tf.train.Feature(float_list=tf.train.FloatList(value=[age])),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature))


def user_schema() -> schema_pb2.Schema:
    """The schema a stock SchemaGen infers for these columns (shapes inferred)."""
    schema = schema_pb2.Schema()
    for name, kind in (
        ("movieId", schema_pb2.INT),
        ("userId", schema_pb2.BYTES),
        ("rating", schema_pb2.FLOAT),
        ("age", schema_pb2.FLOAT),
    ):
        feature = schema.feature.add(name=name, type=kind)
        feature.presence.min_fraction = 1.0
        feature.shape.dim.add(size=1)
    return schema


def span_examples(root: str, span: int) -> standard_artifacts.Examples:
    rng = np.random.default_rng(span)
    examples = standard_artifacts.Examples()
    examples.uri = root
    examples.split_names = artifact_utils.encode_split_names(list(SPLITS))
    for split in SPLITS:
        os.makedirs(os.path.join(root, f"Split-{split}"))
        path = os.path.join(root, f"Split-{split}", "data.gz")
        with tf.io.TFRecordWriter(path, options="GZIP") as writer:
            for _ in range(400):
                example = raw_example(
                    int(rng.choice(MOVIES[span])),
                    str(rng.choice(USERS[span])),
                    float(rng.integers(1, 6)),
                    float(rng.normal(40, 12)),
                )
                writer.write(example.SerializeToString())
    return examples


def run_user_transform(root: str, span: int) -> tuple[list[str], tft.TFTransformOutput]:
    """The stock Transform executor on span `span`: (training file patterns, its output)."""
    schema = standard_artifacts.Schema()
    schema.uri = os.path.join(root, "schema")
    io_utils.write_pbtxt_file(os.path.join(schema.uri, "schema.pbtxt"), user_schema())
    graph = standard_artifacts.TransformGraph()
    graph.uri = os.path.join(root, "transform_graph")
    transformed = standard_artifacts.Examples()
    transformed.uri = os.path.join(root, "transformed")
    context = BaseBeamExecutor.Context(
        beam_pipeline_args=list(DEFAULT_BEAM_ARGS), tmp_dir=os.path.join(root, "tmp"), unique_id="1"
    )
    TransformExecutor(context).Do(
        {
            keys.EXAMPLES_KEY: [span_examples(os.path.join(root, "examples"), span)],
            keys.SCHEMA_KEY: [schema],
        },
        {keys.TRANSFORM_GRAPH_KEY: [graph], keys.TRANSFORMED_EXAMPLES_KEY: [transformed]},
        {
            keys.PREPROCESSING_FN_KEY: dotted_name(user_transform.preprocessing_fn),
            keys.DISABLE_STATISTICS_KEY: 1,
        },
    )
    return [os.path.join(transformed.uri, "Split-train", "*")], tft.TFTransformOutput(graph.uri)


def settings(**options) -> TrainerSettings:
    return TrainerSettings(
        SPEC, Role.INCREMENTAL, "split", TrainingOptions(**{"embedding_dim": 3, **options})
    )


def train_and_export(
    patterns, output, uri: str, parent_uri: str | None = None
) -> train.TrainedModel:
    """What `run_fn` does: train, check the frozen rows, export."""
    trained = train.train(settings(), patterns, output, parent_uri)
    if parent_uri is not None:
        parent.check_frozen(trained, artifacts.read_embeddings(parent_uri))
    export.export_trained(trained, output, os.path.join(uri, artifacts.SERVING_DIR))
    return trained


def serve(uri: str, pairs: list[tuple[int, str]]) -> np.ndarray:
    """The SavedModel's probabilities on raw examples holding only the categorical columns."""
    examples = [
        tf.train.Example(
            features=tf.train.Features(
                feature={
                    "movieId": tf.train.Feature(int64_list=tf.train.Int64List(value=[m])),
                    "userId": tf.train.Feature(bytes_list=tf.train.BytesList(value=[u.encode()])),
                }
            )
        ).SerializeToString()
        for m, u in pairs
    ]
    loaded = tf.saved_model.load(os.path.join(uri, artifacts.SERVING_DIR))
    return loaded.signatures["serving_default"](examples=tf.constant(examples))[
        export.PREDICTION_KEY
    ].numpy()


@pytest.fixture(scope="module")
def spans(tmp_path_factory) -> dict[int, tuple[list[str], tft.TFTransformOutput]]:
    root = tmp_path_factory.mktemp("user-transform")
    return {span: run_user_transform(str(root / f"span-{span}"), span) for span in (1, 2)}


@pytest.mark.slow
def test_the_trainer_extends_a_model_from_a_users_transform_with_old_rows_frozen(spans, tmp_path):
    output = spans[1][1]
    assert {"age_z", vocabularies.LABEL_KEY} <= set(output.transformed_feature_spec())
    assert vocabularies.ROW_ID_KEY not in output.transformed_feature_spec()
    first = train_and_export(*spans[1], str(tmp_path / "first"))
    assert first.rows_trained == first.rows_total == 400
    child = train_and_export(*spans[2], str(tmp_path / "child"), str(tmp_path / "first"))

    added = {name: set(diff.new) for name, diff in child.diffs.items()}
    assert added == {
        "movieId": {str(movie) for movie in MOVIES[2] if movie not in MOVIES[1]},
        "userId": set(USERS[2]) - set(USERS[1]),
    }
    assert 0 < child.rows_trained < child.rows_total == 400
    old = artifacts.read_embeddings(str(tmp_path / "first")).features
    new = artifacts.read_embeddings(str(tmp_path / "child")).features
    for name, rows in old.items():
        assert new[name].vocabulary[: len(rows.vocabulary)] == rows.vocabulary
        # every old token's row (the OOV row, row 0, is the child's own: tests/test_oov.py)
        assert np.max(np.abs(new[name].weights[: len(rows.weights)] - rows.weights)) == 0.0
    # Served from raw examples (integer movieId, no rating or age): the child serves
    # rows of old levels with its parent's probabilities, bit for bit.
    old_pairs = [(m, u) for m in MOVIES[1] for u in USERS[1]][::7]
    np.testing.assert_array_equal(
        serve(str(tmp_path / "child"), old_pairs), serve(str(tmp_path / "first"), old_pairs)
    )


@pytest.mark.slow
def test_replay_is_refused_on_a_transform_without_the_row_id(spans, tmp_path):
    patterns, output = spans[1]
    replay = settings(model="additive", unfreeze_shared=True, replay_fraction=0.5)
    with pytest.raises(
        vocabularies.TransformOutputError, match="no '_row_id'.*or drop --replay-fraction"
    ):
        train.train(replay, patterns, output, None)


def transform_output_with_vocabulary(root, filename: str) -> tft.TFTransformOutput:
    assets = root / "transform_fn" / "assets"
    assets.mkdir(parents=True)
    (assets / filename).write_text("a\nb\n")
    return tft.TFTransformOutput(str(root))


def test_a_missing_or_text_vocabulary_is_named(tmp_path):
    feature = CategoricalFeature("movieId")
    output = transform_output_with_vocabulary(tmp_path / "text", "movieId")
    with pytest.raises(vocabularies.TransformOutputError, match="'movieId'.*not in tfrecord_gzip"):
        vocabularies.vocabulary_file(output, feature)
    output = transform_output_with_vocabulary(tmp_path / "other", "userId.tfrecord.gz")
    with pytest.raises(vocabularies.TransformOutputError, match="no vocabulary named 'movieId'"):
        vocabularies.vocabulary_file(output, feature)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"label": tf.io.FixedLenFeature([], tf.int64)}, "no 'movieId' \\(the feature's tokens\\)"),
        ({"movieId": tf.io.FixedLenFeature([], tf.string)}, "no 'label' \\(the 0/1 label\\)"),
        (
            {
                "movieId": tf.io.VarLenFeature(tf.string),
                "label": tf.io.FixedLenFeature([], tf.int64),
            },
            "'movieId' .* is a VarLenFeature",
        ),
        (
            {
                "movieId": tf.io.FixedLenFeature([], tf.int64),
                "label": tf.io.FixedLenFeature([], tf.int64),
            },
            "'movieId' .* is int64: tokens are strings",
        ),
    ],
)
def test_a_transform_output_without_tokens_or_label_is_named(spec, message):
    with pytest.raises(vocabularies.TransformOutputError, match=message):
        vocabularies.check_transformed_features(spec, ["movieId"])


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (tf.sparse.from_dense(tf.constant([["a"], ["b"]])), "is a SparseTensor"),
        (tf.constant([[1.0], [2.0]]), "is float32: give strings or integers"),
        (tf.constant([["a", "b"], ["c", "d"]]), "has shape \\(2, 2\\): one token per row"),
    ],
)
def test_the_helper_refuses_inputs_that_are_not_one_token_per_row(values, message):
    with pytest.raises(vocabularies.TransformOutputError, match=f"'movieId' {message}"):
        vocabularies.categorical_vocabularies({"movieId": values}, ["movieId"])
