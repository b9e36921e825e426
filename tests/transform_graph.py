"""A real tf.Transform graph for tests, analysed with Beam on a handful of rows (seconds)."""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence

import apache_beam as beam
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata

from newlevels.transforms.features import DataSpec
from newlevels.transforms.preprocessing import preprocessing_fn


def write_transform_graph(
    spec: DataSpec, rows: Sequence[dict], out_dir: str, temp_dir: str
) -> tft.TFTransformOutput:
    """Runs the pipeline's `preprocessing_fn` over `rows` and writes the transform graph.

    Args:
        spec: the columns.
        rows: raw rows, {column: value} with every column of `spec`.
        out_dir: where the transform graph goes.
        temp_dir: tf.Transform's scratch folder.

    Returns:
        The written graph, as the Trainer sees it.
    """
    metadata = dataset_metadata.DatasetMetadata(spec.raw_schema())
    instances = [
        {
            spec.id_column: [row[spec.id_column].encode()],
            **{name: [row[name].encode()] for name in spec.feature_names},
            spec.label: [int(row[spec.label])],
        }
        for row in rows
    ]
    fn = functools.partial(preprocessing_fn, custom_config={"data_spec": spec.to_dict()})
    raw_metadata_dir = os.path.join(out_dir, tft.TFTransformOutput.RAW_METADATA_DIR)
    with beam.Pipeline() as pipeline, tft_beam.Context(temp_dir=temp_dir):
        raw = pipeline | beam.Create(instances)
        transform_fn = (raw, metadata) | tft_beam.AnalyzeDataset(fn)
        _ = transform_fn | tft_beam.WriteTransformFn(out_dir)
        _ = metadata | tft_beam.WriteMetadata(raw_metadata_dir, pipeline=pipeline)
    return tft.TFTransformOutput(out_dir)
