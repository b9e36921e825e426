"""Reading and checking a TFRecord file of serialized `tf.Example`s (GZIP or not).

A level or an id is one string (UTF-8) or one integer (read as its decimal
text); the label one integer, float or string that is 0 or 1. Messages name
the file, the record (1-based) and the feature.
"""

from __future__ import annotations

from collections.abc import Iterator

import tensorflow as tf
from google.protobuf.message import DecodeError

from newlevels.components.ingest.rows import DataError, Row, label_value
from newlevels.transforms.features import DataSpec

GZIP_MAGIC = b"\x1f\x8b"


def compression(path: str) -> str:
    """`GZIP` if the file starts with the gzip magic bytes, else `""`."""
    with tf.io.gfile.GFile(path, "rb") as handle:
        return "GZIP" if handle.read(2) == GZIP_MAGIC else ""


def _values(feature: tf.train.Feature) -> list:
    kind = feature.WhichOneof("kind")
    return [] if kind is None else list(getattr(feature, kind).value)


def _token(feature: tf.train.Feature, where: str, name: str) -> str:
    values = _values(feature)
    if len(values) != 1 or feature.WhichOneof("kind") == "float_list":
        raise DataError(
            f"{where}: feature {name!r} holds {values!r}; one string or integer is needed"
        )
    value = values[0]
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError as error:
            message = f"feature {name!r} is not UTF-8 (byte {error.start})"
            raise DataError(f"{where}: {message}") from None
    return str(value)


def row_from_example(example: tf.train.Example, where: str, spec: DataSpec) -> Row:
    """The checked row of one example.

    Raises:
        DataError: for a missing feature, a level or id that is not one string or
            integer, or a label that is not 0 or 1.
    """
    features = example.features.feature
    missing = [name for name in spec.required_columns if name not in features]
    if missing:
        raise DataError(f"{where}: missing column(s) {', '.join(missing)}")
    label = _values(features[spec.label])
    if len(label) != 1:
        raise DataError(f"{where}: label column {spec.label!r} holds {label!r}; use 0 or 1")
    return Row(
        _token(features[spec.id_column], where, spec.id_column),
        {name: _token(features[name], where, name) for name in spec.feature_names},
        label_value(label[0], where, spec.label),
    )


def read_rows(path: str, spec: DataSpec) -> Iterator[Row]:
    """Yields the checked rows of one TFRecord file (extra features are ignored).

    Raises:
        DataError: for a record that is not a tf.Example, a corrupt or truncated
            file, or a row `row_from_example` refuses.
    """
    record = 0
    records = tf.compat.v1.io.tf_record_iterator(
        path, tf.io.TFRecordOptions(compression_type=compression(path))
    )
    try:
        for record, raw in enumerate(records, start=1):
            where = f"{path}: record {record}"
            try:
                example = tf.train.Example.FromString(raw)
            except DecodeError:
                raise DataError(f"{where}: not a serialized tf.Example") from None
            yield row_from_example(example, where, spec)
    except tf.errors.OpError as error:
        raise DataError(
            f"{path}: record {record + 1}: corrupt TFRecord ({error.message.splitlines()[0]})"
        ) from None
