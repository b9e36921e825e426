"""Which levels a run adds: each feature's vocabulary diffed by token, then admitted.

`plan_levels` diffs this run's tf.Transform vocabularies against the parent's (the
diff itself is `levels.py`, pure Python); `admit_levels` applies `--min-count` with
the counts the parent left pending (`admission.py`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import tensorflow as tf
import tensorflow_transform as tft
from absl import logging

from newlevels.components.trainer import admission, artifacts, data, levels
from newlevels.components.trainer.settings import TrainerSettings
from newlevels.transforms.features import DataSpec
from newlevels.transforms.vocabularies import vocabulary_file


def plan_levels(
    spec: DataSpec,
    current: Mapping[str, Sequence[str]],
    parent: artifacts.ExportedEmbeddings | None,
) -> dict[str, levels.LevelDiff]:
    """Diffs each feature's current vocabulary against the parent's, by token."""
    return {
        name: levels.diff_levels(
            name, () if parent is None else parent.features[name].vocabulary, current[name]
        )
        for name in spec.feature_names
    }


def current_vocabularies(tft_output: tft.TFTransformOutput, spec: DataSpec) -> dict[str, list[str]]:
    """This run's tf.Transform vocabularies, decoded.

    The files are GZIP TFRecords (`transforms.vocabularies.VOCABULARY_FORMAT`),
    read record by record: `TFTransformOutput.vocabulary_by_name` reads them with
    a tf.data reduce that traces three functions per vocabulary (about 0.1 s of
    every Trainer).

    Raises:
        TransformOutputError: if a feature's vocabulary is missing or not in that format.
    """
    options = tf.io.TFRecordOptions(compression_type="GZIP")
    return {
        f.name: [
            token.decode("utf-8")
            for token in tf.compat.v1.io.tf_record_iterator(vocabulary_file(tft_output, f), options)
        ]
        for f in spec.categorical
    }


def admit_levels(
    settings: TrainerSettings,
    diffs: Mapping[str, levels.LevelDiff],
    parent: artifacts.ExportedEmbeddings,
    train_patterns: Sequence[str],
    tft_output: tft.TFTransformOutput,
) -> tuple[dict[str, levels.LevelDiff], dict[str, admission.Admission]]:
    """Keeps, in each diff, only the new levels seen `min_count` times (with the parent's counts).

    Returns:
        The diffs with only admitted new levels, and each feature's admission.
    """
    names = settings.data_spec.feature_names
    counts = (
        data.count_tokens(train_patterns, tft_output.transformed_feature_spec(), names)
        if settings.options.min_count > 1
        else {name: {} for name in names}
    )
    admissions = {
        name: admission.admit(
            diffs[name].new, counts[name], parent.pending.get(name, {}), settings.options.min_count
        )
        for name in names
    }
    admitted = {
        name: dataclasses.replace(diff, new=admissions[name].admitted)
        for name, diff in diffs.items()
    }
    for name, decision in admissions.items():
        logging.info(
            "%s: admitted %d new levels, deferred %d (min count %d).",
            name,
            len(decision.admitted),
            decision.deferred,
            settings.options.min_count,
        )
    return admitted, admissions
