"""What every span-file reader yields: checked rows, or one `DataError` naming the place.

The readers (`csv_rows`, `tfrecord_rows`, `parquet_rows`) share the row type, the
error type and the label rule, so a row means the same whatever format it came from.
"""

from __future__ import annotations

import dataclasses
import os

#: the label's accepted spellings, as they appear in a CSV cell or a string column.
LABEL_VALUES = {"0": 0, "1": 1}
#: file name endings read as CSV and as Parquet; TFRecord is matched by `is_tfrecord`.
CSV_SUFFIX = ".csv"
PARQUET_SUFFIX = ".parquet"
TFRECORD_MARK = "tfrecord"
#: how the formats are named in messages.
FORMATS_HELP = ".csv, .parquet, or TFRecord files of tf.Example (a name holding 'tfrecord')"


class DataError(ValueError):
    """The input data cannot be used as it is."""


@dataclasses.dataclass(frozen=True)
class Row:
    """One checked row, and where it starts in its file (CSV line, 0 when not counted)."""

    row_id: str
    tokens: dict[str, str]
    label: int
    line: int = dataclasses.field(default=0, compare=False)


def is_tfrecord(path: str) -> bool:
    """TFRecord files are named `*.tfrecord`, `*.tfrecords`, `*.tfrecord.gz`, TFX's
    `data_tfrecord-00000-of-00001.gz`: any name holding 'tfrecord' that is not a CSV or
    Parquet file (GZIP compression is read from the file's first bytes)."""
    name = os.path.basename(path).lower()
    return TFRECORD_MARK in name and not name.endswith((CSV_SUFFIX, PARQUET_SUFFIX))


def file_format(path: str) -> str | None:
    """`csv`, `parquet`, `tfrecord`, or None for a file no reader takes (it is ignored)."""
    name = os.path.basename(path).lower()
    if name.endswith(CSV_SUFFIX):
        return "csv"
    if name.endswith(PARQUET_SUFFIX):
        return "parquet"
    return "tfrecord" if is_tfrecord(path) else None


def label_value(raw: object, where: str, column: str) -> int:
    """The 0/1 label from a cell, a string, an integer, a bool or an integral float.

    Raises:
        DataError: naming `where` (file and line, record or row) and the column.
    """
    value = raw
    if isinstance(raw, bytes):
        value = raw.decode("utf-8", "replace")
    if isinstance(value, str):
        value = value.strip()
        if value in LABEL_VALUES:
            return LABEL_VALUES[value]
    elif isinstance(value, (bool, int, float)) and value in (0, 1):
        return int(value)
    raise DataError(f"{where}: label column {column!r} holds {value!r}; use 0 or 1")
