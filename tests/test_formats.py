"""Span folders of CSV, Parquet and TFRecord files: the same rows, the same one-line refusals."""

from __future__ import annotations

import glob
import gzip
import os

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import tensorflow as tf
from tfx.dsl.components.base.base_beam_executor import BaseBeamExecutor
from tfx.proto import example_gen_pb2
from tfx.types import standard_artifacts
from tfx.utils import proto_utils

from newlevels import cli
from newlevels.components.ingest import executor as ingest
from newlevels.components.ingest.component import SpanExampleGen, is_eval_row
from newlevels.components.ingest.csv_rows import DataError, check_span, read_rows, span_files
from newlevels.components.ingest.rows import Row
from newlevels.pipeline.config import DEFAULT_BEAM_ARGS
from newlevels.transforms.features import DataSpec

SPEC = DataSpec.build(["level"], "label", "id")
COLUMNS = ["--categorical", "level", "--label", "label", "--id", "id"]
ROWS = [("r1", "a", 1), ("r2", "", 0), ("r3", "b,c", 1), ("r4", "é\nx", 0)]
FORMATS = ("csv", "parquet", "tfrecord")


def example(features: dict) -> bytes:
    def feature(value) -> tf.train.Feature:
        if isinstance(value, float):
            return tf.train.Feature(float_list=tf.train.FloatList(value=[value]))
        if isinstance(value, int):
            return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))
        if isinstance(value, list):
            return tf.train.Feature(bytes_list=tf.train.BytesList(value=value))
        raw = value if isinstance(value, bytes) else value.encode("utf-8")
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[raw]))

    features = {name: feature(value) for name, value in features.items()}
    return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()


def write_tfrecord(path: str, records: list[dict], compress: bool = True) -> str:
    options = tf.io.TFRecordOptions(compression_type="GZIP" if compress else "")
    with tf.io.TFRecordWriter(path, options) as writer:
        for record in records:
            writer.write(example(record))
    return path


def write_parquet(path: str, columns: dict) -> str:
    pq.write_table(pa.table(columns), path)
    return path


def span_folder(root, span: int = 1) -> str:
    folder = root / f"span-{span}"
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder)


def write_good(folder: str, kind: str, prefix: str = "") -> str:
    """`ROWS` (ids prefixed with `prefix`, plus an extra column) in one file of format `kind`."""
    rows = [(prefix + row_id, level, label) for row_id, level, label in ROWS]
    if kind == "csv":
        path = os.path.join(folder, "part.csv")
        frame = pd.DataFrame(rows, columns=["id", "level", "label"]).assign(extra="x")
        frame.to_csv(path, index=False)
        return path
    if kind == "parquet":
        ids, levels, labels = zip(*rows, strict=True)
        columns = {"id": ids, "level": levels, "label": labels, "extra": [1.5] * len(rows)}
        return write_parquet(os.path.join(folder, "part.parquet"), columns)
    records = [{"id": i, "level": lv, "label": lb, "extra": 2.5} for i, lv, lb in rows]
    return write_tfrecord(os.path.join(folder, "part.tfrecord.gz"), records)


@pytest.mark.parametrize("kind", FORMATS)
def test_every_format_reads_the_same_rows_and_ignores_extra_columns(tmp_path, kind):
    path = write_good(span_folder(tmp_path), kind)
    assert span_files(str(tmp_path), 1) == [path]
    assert list(read_rows(path, SPEC)) == [Row(i, {"level": lv}, lb) for i, lv, lb in ROWS]
    assert check_span(str(tmp_path), 1, SPEC) == len(ROWS)


def test_integer_levels_and_ids_read_as_their_decimal_text(tmp_path):
    folder = span_folder(tmp_path)
    record = write_tfrecord(
        os.path.join(folder, "data_tfrecord-00000-of-00001.gz"),
        [{"id": 7, "level": 42, "label": 1}],
    )
    plain = write_tfrecord(
        os.path.join(folder, "b.tfrecord"), [{"id": "8", "level": 43, "label": 0.0}], False
    )
    table = write_parquet(
        os.path.join(folder, "c.parquet"),
        {"id": pa.array([9], pa.int64()), "level": pa.array([44], pa.int32()), "label": [True]},
    )
    rows = [row for path in (record, plain, table) for row in read_rows(path, SPEC)]
    assert rows == [
        Row("7", {"level": "42"}, 1),
        Row("8", {"level": "43"}, 0),
        Row("9", {"level": "44"}, 1),
    ]


BAD_TFRECORDS = [
    ([{"id": "r1", "label": 1}], "record 1: missing column(s) level"),
    (
        [{"id": "r1", "level": "a", "label": 2}],
        "record 1: label column 'label' holds 2; use 0 or 1",
    ),
    ([{"id": "r1", "level": "a", "label": "yes"}], "record 1: label column 'label' holds 'yes'"),
    ([{"id": "r1", "level": 1.5, "label": 1}], "record 1: feature 'level' holds [1.5]"),
    ([{"id": "r1", "level": [b"a", b"b"], "label": 1}], "record 1: feature 'level' holds"),
    ([{"id": "r1", "level": b"\xff", "label": 1}], "record 1: feature 'level' is not UTF-8"),
    (
        [{"id": "r1", "level": "a", "label": 1}, {"id": "r2", "level": "b", "label": 0.5}],
        "record 2: label column 'label' holds 0.5",
    ),
]
BAD_PARQUET = [
    ({"id": ["r1"], "label": [1]}, "missing column(s) level"),
    ({"id": ["r1"], "level": ["a"], "label": [3]}, "row 1: label column 'label' holds 3"),
    (
        {"id": ["r1", "r2"], "level": ["a", None], "label": [1, 0]},
        "row 2: column(s) level hold null",
    ),
    ({"id": ["r1"], "level": [0.5], "label": [1]}, "column 'level' is double; use strings"),
]


def bad_files(folder: str) -> list[tuple[str, str]]:
    """(path, expected message) of one bad file per case and format (CSV has its own tests)."""
    cases = []
    for index, (records, message) in enumerate(BAD_TFRECORDS):
        path = write_tfrecord(os.path.join(folder, f"bad{index}.tfrecord.gz"), records)
        cases.append((path, message))
    for index, (columns, message) in enumerate(BAD_PARQUET):
        cases.append((write_parquet(os.path.join(folder, f"bad{index}.parquet"), columns), message))
    truncated = os.path.join(folder, "truncated.tfrecord")
    with open(
        write_tfrecord(truncated, [{"id": "r", "level": "a", "label": 1}] * 3, False), "rb+"
    ) as f:
        f.truncate(40)
    cases.append((truncated, "corrupt TFRecord"))
    not_example = os.path.join(folder, "text.tfrecord.gz")
    with gzip.open(not_example, "wb") as handle:
        handle.write(b"id,level,label\nr1,a,1\n")
    cases.append((not_example, "corrupt TFRecord"))
    not_parquet = os.path.join(folder, "text.parquet")
    with open(not_parquet, "w", encoding="utf-8") as handle:
        handle.write("id,level,label\nr1,a,1\n")
    cases.append((not_parquet, "not a readable Parquet file"))
    return cases


@pytest.mark.reliability("a Parquet or TFRecord file")
def test_bad_tfrecord_and_parquet_files_are_named_with_the_record_row_and_column(tmp_path):
    for path, message in bad_files(span_folder(tmp_path / "scratch")):
        with pytest.raises(DataError) as error:
            list(read_rows(path, SPEC))
        assert str(error.value).startswith(f"{path}: ") and message in str(error.value), path


@pytest.mark.reliability("a Parquet or TFRecord file")
@pytest.mark.parametrize("kind", ["parquet", "tfrecord"])
def test_the_cli_refuses_a_bad_file_of_any_format_in_one_line(tmp_path, capsys, kind):
    data = tmp_path / "data"
    write_good(span_folder(data), "csv")
    if kind == "parquet":
        bad = write_parquet(
            str(data / "span-1" / "b.parquet"), {"id": ["r9"], "level": ["z"], "label": [7]}
        )
        message = f"{bad}: row 1: label column 'label' holds 7; use 0 or 1"
    else:
        bad = write_tfrecord(str(data / "span-1" / "b.tfrecord"), [{"id": "r9", "label": 1}])
        message = f"{bad}: record 1: missing column(s) level"
    argv = ["run", "--data", str(data), "--span", "1", "--workdir", str(tmp_path / "w"), *COLUMNS]
    assert cli.main(argv) == 2
    assert capsys.readouterr().err.strip() == f"newlevels: error: {message}"
    assert not os.path.exists(tmp_path / "w" / "serving")


def test_a_folder_without_a_data_file_names_the_formats(tmp_path):
    folder = span_folder(tmp_path)
    with open(os.path.join(folder, "README.txt"), "w", encoding="utf-8") as handle:
        handle.write("not data")
    with pytest.raises(DataError, match=r"holds no data file \(\.csv, \.parquet, or TFRecord"):
        check_span(str(tmp_path), 1, SPEC)


def test_example_gen_reads_only_the_resolved_span_of_mixed_formats_split_by_id(tmp_path):
    data = tmp_path / "data"
    write_good(span_folder(data, 1), "csv", prefix="old-")
    for kind in FORMATS:
        write_good(span_folder(data, 2), kind, prefix=f"{kind}-")
    component = SpanExampleGen(str(data), SPEC)
    input_config = example_gen_pb2.Input()
    proto_utils.json_to_proto(component.exec_properties["input_config"], input_config)
    # what FileBasedExampleGen's driver hands the executor for span 2
    input_config.splits[0].pattern = input_config.splits[0].pattern.replace("{SPAN}", "2")
    exec_properties = {
        **component.exec_properties,
        "input_config": proto_utils.proto_to_json(input_config),
        "span": 2,
        "version": None,
    }
    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path / "examples")
    context = BaseBeamExecutor.Context(
        beam_pipeline_args=list(DEFAULT_BEAM_ARGS), tmp_dir=str(tmp_path / "tmp")
    )
    ingest.Executor(context).Do({}, {"examples": [examples]}, exec_properties)

    read = {}
    for split in ingest.SPLITS:
        files = glob.glob(os.path.join(examples.uri, f"Split-{split}", "*"))
        records = tf.data.TFRecordDataset(files, compression_type="GZIP")
        read[split] = [
            tf.train.Example.FromString(r.numpy()).features.feature["id"].bytes_list.value[0]
            for r in records
        ]
    ids = {f"{kind}-{row_id}" for kind in FORMATS for row_id, _, _ in ROWS}
    assert sorted(i.decode() for s in read.values() for i in s) == sorted(ids)
    assert {i.decode() for i in read[ingest.SPLIT_EVAL]} == {i for i in ids if is_eval_row(i)}


def test_the_batch_encoder_writes_the_examples_of_to_example():
    """ExampleGen encodes rows in batches (tfx_bsl, C++); each parses to `to_example`'s."""
    spec = DataSpec.build(["level", "other"], "label", "id")
    rows = [
        Row(row_id, {"level": token, "other": f"{token}-{n}"}, label)
        for n, (row_id, token, label) in enumerate([*ROWS, ("r5", "日本", 1), ("", '"q"', 0)])
    ]
    encoded = ingest.encode_rows(rows, spec)
    assert [tf.train.Example.FromString(record) for record in encoded] == [
        ingest.to_example(row, spec) for row in rows
    ]
    assert ingest.encode_rows([], spec) == []


def test_a_file_is_split_and_encoded_in_batches(tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "ENCODE_BATCH", 3)
    path = os.path.join(span_folder(tmp_path), "rows.csv")
    rows = [(f"id-{n}", f"t{n % 5}", n % 2) for n in range(20)]
    pd.DataFrame(rows, columns=["id", "level", "label"]).to_csv(path, index=False)
    tagged = list(ingest.encoded_file(path, SPEC, 4, 1))
    by_split = {name: [] for name in ingest.SPLITS}
    for output in tagged:
        by_split[output.tag].append(tf.train.Example.FromString(output.value))
    expected = {name: [] for name in ingest.SPLITS}
    for row in read_rows(path, SPEC):
        expected[ingest.SPLITS[is_eval_row(row.row_id)]].append(ingest.to_example(row, SPEC))
    assert by_split == expected
    assert by_split[ingest.SPLIT_EVAL] and by_split[ingest.SPLIT_TRAIN]
