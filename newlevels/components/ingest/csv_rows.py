"""Span folders and their files, and the CSV reader (pure Python, shared by the CLI and ExampleGen).

A span folder may hold CSV, Parquet and TFRecord files (`rows.file_format`);
`read_rows` reads any of them, CSV here and the others in `parquet_rows` and
`tfrecord_rows`. Every problem is a `DataError` whose message names the file,
the line (record, row) and the column.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterator

import tensorflow as tf

from newlevels.components.ingest import parquet_rows, tfrecord_rows
from newlevels.components.ingest.rows import FORMATS_HELP, DataError, Row, file_format, label_value
from newlevels.transforms.features import DataSpec

SPAN_FOLDER = "span-{span}"
#: ExampleGen's input pattern, relative to the data root: every file of span N's
#: folder (the executor reads those `rows.file_format` knows and ignores the rest).
SPAN_PATTERN = "span-{SPAN}/*"


def span_dir(data_root: str, span: int) -> str:
    return os.path.join(data_root, SPAN_FOLDER.format(span=span))


def available_spans(data_root: str) -> list[int]:
    """Span numbers that have a folder under `data_root`, ascending."""
    if not tf.io.gfile.isdir(data_root):
        raise DataError(f"data folder {data_root} does not exist")
    found = (re.fullmatch(r"span-(\d+)/?", name) for name in tf.io.gfile.listdir(data_root))
    return sorted(int(match.group(1)) for match in found if match)


def span_files(data_root: str, span: int) -> list[str]:
    """The data files of one span (CSV, Parquet, TFRecord; other files are ignored).

    Raises:
        DataError: if the span folder is missing or holds no data file.
    """
    folder = span_dir(data_root, span)
    if not tf.io.gfile.isdir(folder):
        spans = available_spans(data_root)
        raise DataError(f"span {span} does not exist: no folder {folder} (spans found: {spans})")
    return data_files(folder, tf.io.gfile.glob(os.path.join(folder, "*")))


def data_files(folder: str, paths: list[str]) -> list[str]:
    """The paths a reader takes, sorted.

    Raises:
        DataError: if there is none.
    """
    files = sorted(path for path in paths if file_format(path) is not None)
    if not files:
        raise DataError(f"span folder {folder} holds no data file ({FORMATS_HELP})")
    return files


def read_rows(path: str, spec: DataSpec) -> Iterator[Row]:
    """Yields the checked rows of one CSV, Parquet or TFRecord file (extra columns are ignored).

    Raises:
        DataError: naming the file, line (record, row) and column: a missing
            column, a label that is not 0 or 1, a malformed file; for CSV also
            bytes that are not UTF-8 and a ragged row. Any token is accepted, the
            empty string and tokens with commas, quotes or line breaks included.
    """
    kind = file_format(path)
    if kind == "parquet":
        return parquet_rows.read_rows(path, spec)
    if kind == "tfrecord":
        return tfrecord_rows.read_rows(path, spec)
    return _read_csv(path, spec)


def _read_csv(path: str, spec: DataSpec) -> Iterator[Row]:
    with tf.io.gfile.GFile(path, "rb") as handle:
        raw = handle.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not UTF-8 (byte {error.start})") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise DataError(f"{path}: empty file (no header)")
        missing = [column for column in spec.required_columns if column not in header]
        if missing:
            raise DataError(f"{path}: missing column(s) {', '.join(missing)} (header: {header})")
        position = {column: header.index(column) for column in spec.required_columns}
        names = spec.feature_names
        line = reader.line_num + 1
        for cells in reader:
            if cells:
                yield _checked_row(path, line, cells, len(header), position, spec, names)
            line = reader.line_num + 1
    except csv.Error as error:
        raise DataError(f"{path}:{reader.line_num}: malformed CSV ({error})") from None


def _checked_row(
    path: str,
    line: int,
    cells: list[str],
    width: int,
    position: dict[str, int],
    spec: DataSpec,
    names: tuple[str, ...],
) -> Row:
    if len(cells) != width:
        raise DataError(f"{path}:{line}: {len(cells)} fields, the header has {width}")
    label = label_value(cells[position[spec.label]], f"{path}:{line}", spec.label)
    tokens = {name: cells[position[name]] for name in names}
    return Row(cells[position[spec.id_column]], tokens, label, line)


def check_span(data_root: str, span: int, spec: DataSpec) -> int:
    """Checks every file of a span; returns its row count.

    Ids must be unique within a span (the id picks the span's evaluation rows). The
    same id in two spans is accepted: each span is split on its own.

    Raises:
        DataError: for the first problem found, an id seen twice in the span, or a
            span with no data row (naming its header-only files).
    """
    files = span_files(data_root, span)
    seen: set[str] = set()
    for path in files:
        for row in read_rows(path, spec):
            if row.row_id in seen:
                raise DataError(_duplicate_id(files, row, path, spec))
            seen.add(row.row_id)
    if not seen:
        raise DataError(f"{', '.join(files)}: a header but no data row")
    return len(seen)


def _duplicate_id(files: list[str], again: Row, path: str, spec: DataSpec) -> str:
    """The message for an id met again at `path`: re-reads the span to name the first row."""
    first = next(
        f"{name}:{row.line}"
        for name in files
        for row in read_rows(name, spec)
        if row.row_id == again.row_id
    )
    return (
        f"{path}:{again.line}: id column {spec.id_column!r} holds {again.row_id!r} again "
        f"(first at {first}); ids must be unique within a span"
    )
