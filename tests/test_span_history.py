"""The span history a transform graph records, and the append-only vocabulary merge (pure)."""

from __future__ import annotations

import os

import pytest

from newlevels.components.transform import history
from newlevels.transforms.append_only import merge, read_tokens, write_tokens

PIPELINE = "newlevels"


def entry(span: int) -> history.SpanEntry:
    return history.SpanEntry(
        span=span,
        version=None,
        examples=f"/x/examples/{span}",
        transformed_examples=f"/x/transformed/{span}",
        transform_graph=f"/x/graph/{span}",
    )


def record(*spans: int, pipeline: str = PIPELINE) -> history.SpanHistory:
    return history.SpanHistory(pipeline, tuple(entry(span) for span in spans))


def test_a_first_span_builds_on_nothing_and_the_next_on_every_earlier_span():
    assert history.earlier_entries(None, 1, PIPELINE) == ()
    assert [e.span for e in history.earlier_entries(record(1, 2), 3, PIPELINE)] == [1, 2]


def test_a_repeated_or_earlier_span_drops_the_entries_it_replaces():
    # a rerun of span 3 (its first run wrote the latest graph), or going back to span 2
    assert [e.span for e in history.earlier_entries(record(1, 2, 3), 3, PIPELINE)] == [1, 2]
    assert [e.span for e in history.earlier_entries(record(1, 2, 3), 2, PIPELINE)] == [1]


@pytest.mark.parametrize(
    ("base", "span", "missing"),
    [(None, 2, "[1]"), (record(1), 3, "[2]"), (record(1, 2), 5, "[3, 4]")],
)
def test_a_span_whose_earlier_spans_were_not_all_ingested_is_refused(base, span, missing):
    with pytest.raises(history.SpanHistoryError, match=rf"has not ingested span\(s\) \{missing}"):
        history.earlier_entries(base, span, PIPELINE)


def test_another_pipelines_graph_is_refused():
    with pytest.raises(history.SpanHistoryError, match="belongs to pipeline 'other'"):
        history.earlier_entries(record(1, pipeline="other"), 2, PIPELINE)


def test_the_record_round_trips_and_names_the_earlier_spans_files(tmp_path):
    written = record(1, 2, 3)
    history.write_history(str(tmp_path), written)
    assert history.read_history(str(tmp_path)) == written
    assert history.earlier_patterns(str(tmp_path)) == [
        os.path.join(f"/x/transformed/{span}", f"Split-{split}", "*")
        for span in (1, 2)
        for split in history.ALL_SPLITS
    ]


def test_a_graph_without_a_record_is_named(tmp_path):
    with pytest.raises(history.SpanHistoryError, match=f"transform graph {tmp_path} holds no"):
        history.read_history(str(tmp_path))
    (tmp_path / history.RECORD_FILE).write_text("{not json")
    with pytest.raises(history.SpanHistoryError, match="holds no readable span history"):
        history.read_history(str(tmp_path))


def test_merge_keeps_every_base_index_and_appends_new_tokens_by_count():
    base = [b"b", b"a", b""]
    counts = {b"a": 9, b"z": 1, b"c": 5, b"d": 5, b"": 2}
    assert merge(base, counts) == [b"b", b"a", b"", b"d", b"c", b"z"]
    assert merge([], counts) == [b"a", b"d", b"c", b"", b"z"]
    assert merge(base, {}) == base
    with pytest.raises(ValueError, match="repeats a token"):
        merge([b"a", b"a"], counts)


def test_vocabulary_files_keep_every_token(tmp_path):
    tokens = [b"", b"a\nb", b"\xc3\xa9", b"x,y"]
    path = str(tmp_path / "vocab.tfrecord.gz")
    write_tokens(path, tokens)
    assert read_tokens(path) == tokens


@pytest.mark.reliability("a span whose earlier spans")
def test_the_cli_refuses_a_later_span_on_a_fresh_workdir_before_anything_runs(tmp_path, capsys):
    from newlevels import cli

    data = tmp_path / "data" / "span-2"
    data.mkdir(parents=True)
    (data / "rows.csv").write_text("id,level,label\nr1,a,1\n")
    argv = [
        "run",
        "--data",
        str(tmp_path / "data"),
        "--span",
        "2",
        "--workdir",
        str(tmp_path / "w"),
    ]
    assert cli.main([*argv, "--categorical", "level", "--label", "label", "--id", "id"]) == 2
    error = capsys.readouterr().err.strip()
    assert error == (
        "newlevels: error: --span 2: pipeline 'newlevels' has not ingested span(s) [1] "
        "(ingested: none); run span 1 first: each run ingests one span and resolves the "
        "earlier ones from MLMD"
    )
    # refused before the pipeline started: no MLMD store, nothing pushed
    assert not (tmp_path / "w" / "metadata.sqlite").exists()
    assert not (tmp_path / "w" / "serving").exists()


def fake_graph(root, tokens: list[bytes], features: tuple[str, ...] = ("level",)) -> str:
    """A transform graph folder as tf.Transform lays it out: one vocabulary, `level`, and a
    schema of string `features`."""
    (root / "transformed_metadata").mkdir(parents=True)
    (root / "transformed_metadata" / "asset_map").write_text('{"level": "level.tfrecord.gz"}')
    schema = "".join(
        f'feature {{ name: "{name}" type: BYTES presence {{ min_fraction: 1.0 }} '
        "shape { dim { size: 1 } } }\n"
        for name in features
    )
    (root / "transformed_metadata" / "schema.pbtxt").write_text(schema)
    (root / "transform_fn" / "assets").mkdir(parents=True)
    write_tokens(str(root / "transform_fn" / "assets" / "level.tfrecord.gz"), tokens)
    return str(root)


def test_a_vocabulary_that_does_not_extend_the_previous_spans_is_refused(tmp_path):
    from newlevels.components.transform.executor import check_append_only
    from newlevels.transforms.vocabularies import TransformOutputError

    base = fake_graph(tmp_path / "base", [b"a", b"b"])
    check_append_only(base, fake_graph(tmp_path / "grown", [b"a", b"b", b"c"]), ["level"])
    # what tft.vocabulary writes on span N alone: frequency order, earlier tokens missing
    span_only = fake_graph(tmp_path / "span-only", [b"c", b"b"])
    with pytest.raises(TransformOutputError, match="vocabulary 'level' of transform graph"):
        check_append_only(base, span_only, ["level"])


def test_the_full_retrain_reads_every_split_of_the_earlier_spans_and_span_n_training_rows(
    tmp_path,
):
    from tfx.proto import trainer_pb2
    from tfx.types import artifact_utils, standard_artifacts
    from tfx.types import standard_component_specs as keys
    from tfx.utils import proto_utils

    from newlevels.components.transform.trainer_inputs import SpanHistoryTrainerExecutor

    def made(kind, uri: str):
        artifact = kind()
        artifact.uri = uri
        return artifact

    graph = made(standard_artifacts.TransformGraph, str(tmp_path / "graph"))
    os.makedirs(graph.uri)
    history.write_history(graph.uri, record(1, 2, 3))
    examples = made(standard_artifacts.Examples, "/x/transformed/3")
    examples.split_names = artifact_utils.encode_split_names(list(history.ALL_SPLITS))
    fn_args = SpanHistoryTrainerExecutor()._GetFnArgs(
        {keys.EXAMPLES_KEY: [examples], keys.TRANSFORM_GRAPH_KEY: [graph]},
        {
            keys.MODEL_KEY: [made(standard_artifacts.Model, str(tmp_path / "model"))],
            keys.MODEL_RUN_KEY: [made(standard_artifacts.ModelRun, str(tmp_path / "run"))],
        },
        {
            keys.TRAIN_ARGS_KEY: proto_utils.proto_to_json(
                trainer_pb2.TrainArgs(splits=["span_train"])
            ),
            keys.EVAL_ARGS_KEY: proto_utils.proto_to_json(
                trainer_pb2.EvalArgs(splits=["span_eval"])
            ),
        },
    )
    assert fn_args.train_files == [
        *(
            os.path.join(f"/x/transformed/{span}", f"Split-{split}", "*")
            for span in (1, 2)
            for split in history.ALL_SPLITS
        ),
        os.path.join("/x/transformed/3", "Split-span_train", "*"),
    ]


def test_the_span_is_read_as_the_driver_or_kubeflows_launcher_records_it():
    from tfx.types import artifact, standard_artifacts

    from newlevels.components.transform.executor import span_and_version

    local = standard_artifacts.Examples()
    local.set_int_custom_property("span", 3)
    assert span_and_version(local) == (3, None)
    # KFP hands custom properties back as numbers in a struct
    launched = standard_artifacts.Examples()
    for key, value in (("span", 4.0), ("version", 2.0)):
        encoded = artifact._encode_struct_value(value)  # noqa: SLF001 (how the launcher sets it)
        launched.mlmd_artifact.custom_properties[key].struct_value.CopyFrom(encoded)
    assert span_and_version(launched) == (4, 2)
    with pytest.raises(history.SpanHistoryError, match="record no span of 1 or more"):
        span_and_version(standard_artifacts.Examples())


def test_a_graph_with_features_the_earlier_spans_lack_is_refused(tmp_path):
    from newlevels.components.transform.executor import check_same_features

    base = fake_graph(tmp_path / "base", [b"a"])
    check_same_features(base, fake_graph(tmp_path / "same", [b"a", b"b"]))
    wider = fake_graph(tmp_path / "wider", [b"a"], features=("level", "airport"))
    with pytest.raises(history.SpanHistoryError, match=r"outputs \['airport'\], which the"):
        check_same_features(base, wider)
