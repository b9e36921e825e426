"""Plain, testable training steps behind `run_fn`: plan the levels, read, start, fit."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import tensorflow_transform as tft
from absl import logging

from newlevels.components.trainer import (
    admission,
    artifacts,
    context,
    data,
    early_stopping,
    families,
    head,
    init,
    levels,
    model,
)
from newlevels.components.trainer.fitting import (  # noqa: F401 (build_model re-exported)
    build_model,
    feature_rows,
    fit,
    row_selection,
)
from newlevels.components.trainer.parent import check_parent, parent_mismatch
from newlevels.components.trainer.planning import admit_levels, current_vocabularies, plan_levels
from newlevels.components.trainer.settings import Role, TrainerSettings  # noqa: F401 (re-exported)
from newlevels.contracts.manifest import AdmissionCounts, FeatureCounts, Manifest
from newlevels.transforms.vocabularies import check_transformed_features


@dataclasses.dataclass
class TrainedModel:
    """A fitted model and what the run did, for export and the manifest."""

    settings: TrainerSettings
    model: model.EmbeddingModel
    diffs: dict[str, levels.LevelDiff]
    rows_trained: int
    rows_total: int
    parent_uri: str | None
    #: per feature, which new levels were admitted (empty without a parent).
    admissions: dict[str, admission.Admission] = dataclasses.field(default_factory=dict)
    #: passes over the training rows actually run.
    epochs: int = 0
    #: rows without a new level mixed in (`--replay-fraction`, or every one under `--adapt head`).
    rows_replayed: int = 0
    #: per table, the starting values of the rows this model trained (its new rows).
    initial_rows: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    #: what early stopping did (None when the run trained a fixed number of epochs).
    convergence: early_stopping.Convergence | None = None
    #: per table, the parent's OOV row (empty without a parent): the certificate's key.
    parent_oov_rows: dict[str, tuple[float, ...]] = dataclasses.field(default_factory=dict)

    def feature_rows(self) -> dict[str, artifacts.FeatureRows]:
        """Every table's rows (vectors and, for `mf`, biases) by table name."""
        return feature_rows(self.model, self.diffs)

    @property
    def head_adapted(self) -> bool:
        """Whether a head trained over a parent's rows (old-level predictions may differ)."""
        return self.parent_uri is not None and self.settings.options.adapt == head.HEAD

    def manifest(self) -> Manifest:
        """The manifest of the exported model (`embeddings/manifest.json`)."""
        options = self.settings.options
        return Manifest(
            role=self.settings.role.value,
            strategy=self.settings.strategy,
            model_family=self.settings.family.describe(),
            tables=dict(self.model.table_features),
            shared=tuple(sorted(self.model.shared_weights())),
            data_spec=self.settings.data_spec.to_dict(),
            features={
                name: FeatureCounts(
                    old_levels=diff.old_levels,
                    new_levels=diff.new_levels,
                    vocab_size=diff.vocab_size,
                    vanished_levels=len(diff.vanished),
                    embedding_dim=int(self.model.embeddings[name].full_table().shape[1]),
                )
                for name, diff in self.diffs.items()
            },
            admission={
                name: AdmissionCounts(
                    admitted=len(a.admitted),
                    deferred=a.deferred,
                    pending=len(a.pending),
                    min_count=options.min_count,
                )
                for name, a in self.admissions.items()
            },
            rows_trained=self.rows_trained,
            rows_replayed=self.rows_replayed,
            rows_total=self.rows_total,
            epochs=self.epochs,
            init=options.init if self.parent_uri is not None else init.RANDOM,
            early_stopping=None if self.convergence is None else self.convergence.to_manifest(),
            head_adapted=self.head_adapted,
            parent_model_uri=self.parent_uri,
            parent_oov_rows=self.parent_oov_rows,
        )


def train(
    settings: TrainerSettings,
    train_patterns: Sequence[str],
    tft_output: tft.TFTransformOutput,
    parent_uri: str | None,
) -> TrainedModel:
    """Builds and fits one model.

    An incremental run with a parent freezes the parent's rows, starts its new
    rows by `--init` and trains them on the rows holding at least one new level
    (with early stopping, until a held-out part stops improving); a run without
    a parent (the first run, or the full-retrain baseline) trains every row on
    every training row. Either way it then fits its OOV rows to serve an average
    level at the base rate of the rows it read (an extension: every training row
    of the span, held-out rows excluded; no old level looks its OOV rows up).

    Args:
        settings: trainer settings.
        train_patterns: file patterns of the transformed training examples.
        tft_output: this run's Transform output.
        parent_uri: the parent Model artifact's URI, or None.

    Returns:
        The fitted model and its bookkeeping.
    """
    spec = settings.data_spec
    parent = None
    if parent_uri is not None and settings.role is Role.INCREMENTAL:
        parent = artifacts.read_embeddings(parent_uri)
        if settings.options.fresh_on_mismatch and parent_mismatch(settings, parent):
            logging.warning("Previous model %s does not fit: training a fresh model.", parent_uri)
            parent, parent_uri = None, None
        else:
            check_parent(settings, parent, parent_uri)
            logging.info("Extending previous model %s", parent_uri)
    if parent is None:
        parent_uri = None
        logging.info("No previous model to extend: training every level on every row.")

    diffs = plan_levels(spec, current_vocabularies(tft_output, spec), parent)
    admissions = {}
    if parent is not None:
        diffs, admissions = admit_levels(settings, diffs, parent, train_patterns, tft_output)
    # Replay picks old-level rows by their id: refused without it on every run, even
    # one that replays nothing yet (a first run), so the user learns it at once.
    replays = settings.options.unfreeze_shared and settings.options.replay_fraction > 0
    check_transformed_features(
        tft_output.transformed_feature_spec(),
        spec.feature_names,
        row_id_for=("--replay-fraction",) if replays else (),
    )
    selection = row_selection(settings, diffs, extends_parent=parent is not None)
    rows = data.load_rows(
        train_patterns,
        tft_output.transformed_feature_spec(),
        spec.feature_names,
        **dataclasses.asdict(selection),
    )
    logging.info(
        "Training on %d of %d rows (%d replayed, %d held out).",
        rows.kept,
        rows.read,
        rows.replayed,
        rows.held_out,
    )
    span_rows = None
    if (
        parent is not None
        and settings.options.context == context.REFRESH
        and settings.family.context_rows == families.SPAN_ROWS
    ):
        # The context's corrections read every training row of the span.
        span_rows = data.load_rows(
            train_patterns, tft_output.transformed_feature_spec(), spec.feature_names
        )
    fitted = fit(settings, diffs, parent, rows, span_rows)
    logging.info("Trained %d epochs; early stopping: %s", fitted.epochs, fitted.convergence)
    return TrainedModel(
        settings,
        fitted.model,
        diffs,
        rows.kept,
        rows.read,
        parent_uri,
        admissions,
        fitted.epochs,
        rows.replayed,
        fitted.initial_rows,
        fitted.convergence,
        parent_oov_rows(parent),
    )


def parent_oov_rows(parent: artifacts.ExportedEmbeddings | None) -> dict[str, tuple[float, ...]]:
    """Per table, the parent's OOV row as exact floats (float32 -> float is exact)."""
    if parent is None:
        return {}
    return {name: tuple(rows.oov.astype(float).tolist()) for name, rows in parent.features.items()}
