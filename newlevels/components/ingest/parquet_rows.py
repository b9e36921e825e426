"""Reading and checking a Parquet file.

A level or an id column holds strings or integers (integers are read as their
decimal text); the label column integers, booleans, floats or strings that are
0 or 1. A null is refused. Messages name the file, the row (1-based, in file
order) and the column.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.parquet as pq
import tensorflow as tf

from newlevels.components.ingest.rows import DataError, Row, label_value
from newlevels.transforms.features import DataSpec

#: rows decoded at a time (the file is streamed, never read whole).
BATCH_ROWS = 65_536


class _GFileReader(io.RawIOBase):
    """A seekable raw reader over `tf.io.gfile` (any file system TensorFlow reads), which
    pyarrow streams from; a GFile alone lacks the `closed` attribute pyarrow checks."""

    def __init__(self, handle: tf.io.gfile.GFile) -> None:
        self._handle = handle

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._handle.seek(offset, whence)
        return self._handle.tell()

    def tell(self) -> int:
        return self._handle.tell()

    def readinto(self, buffer) -> int:
        data = self._handle.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _is_token_type(kind: pa.DataType) -> bool:
    if pa.types.is_dictionary(kind):  # pandas categoricals are written as dictionaries
        return _is_token_type(kind.value_type)
    return pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_integer(kind)


def _open(path: str, handle: tf.io.gfile.GFile, spec: DataSpec) -> pq.ParquetFile:
    try:
        parquet = pq.ParquetFile(io.BufferedReader(_GFileReader(handle)))
    except (pa.ArrowException, OSError) as error:
        raise DataError(f"{path}: not a readable Parquet file ({error})") from None
    schema = parquet.schema_arrow
    missing = [name for name in spec.required_columns if name not in schema.names]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)} (columns: {schema.names})")
    for name in (spec.id_column, *spec.feature_names):
        kind = schema.field(name).type
        if not _is_token_type(kind):
            raise DataError(f"{path}: column {name!r} is {kind}; use strings or integers")
    return parquet


def read_rows(path: str, spec: DataSpec) -> Iterator[Row]:
    """Yields the checked rows of one Parquet file (extra columns are ignored).

    Raises:
        DataError: for a file that is not Parquet, a missing column, a level or
            id column that is neither string nor integer, a null, or a label
            that is not 0 or 1.
    """
    columns = list(spec.required_columns)
    row = 0
    with tf.io.gfile.GFile(path, "rb") as handle:
        for batch in _open(path, handle, spec).iter_batches(BATCH_ROWS, columns=columns):
            for values in zip(*(batch.column(name).to_pylist() for name in columns), strict=True):
                row += 1
                cells = dict(zip(columns, values, strict=True))
                where = f"{path}: row {row}"
                empty = [name for name, value in cells.items() if value is None]
                if empty:
                    raise DataError(f"{where}: column(s) {', '.join(empty)} hold null")
                yield Row(
                    str(cells[spec.id_column]),
                    {name: str(cells[name]) for name in spec.feature_names},
                    label_value(cells[spec.label], where, spec.label),
                )
