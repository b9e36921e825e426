"""Starting, fitting and finishing one model, from rows already read (no TFX).

`train.train` reads a run's rows from its TFX inputs and calls `fit`; the
benchmarks (`bench/init_sweep.py`) call the same functions on rows read from CSV.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import tensorflow as tf

from newlevels.components.trainer import (
    artifacts,
    context,
    context_refresh,
    data,
    early_stopping,
    families,
    head,
    init,
    levels,
    model,
    training_rows,
)
from newlevels.components.trainer.distribution import distribution_strategy
from newlevels.components.trainer.settings import TrainerSettings
from newlevels.components.trainer.strategies import get_strategy
from newlevels.components.trainer.tables import build_table_set
from newlevels.components.trainer.training_rows import (  # noqa: F401 (re-exported)
    RowSelection,
    row_selection,
)


def adaptation_head(
    settings: TrainerSettings,
    parent_shared: Mapping[str, np.ndarray] | None,
    start: head.Head | None = None,
) -> families.AdaptationHead | None:
    """The model's head: trained under `--adapt head`, else the parent's, frozen, if it has one.

    A trained head starts at `start` if given (its fit, `ModelFamily.fit_head`),
    else at the parent's values (identity if the parent has none).
    """
    features = settings.data_spec.feature_names
    inherited = head.Head.from_shared(parent_shared, features)
    if settings.options.adapt == head.HEAD:
        begin = start or inherited or head.Head.identity(features)
        return families.AdaptationHead(begin, trainable=True)
    return None if inherited is None else families.AdaptationHead(inherited, trainable=False)


def build_model(
    settings: TrainerSettings,
    diffs: Mapping[str, levels.LevelDiff],
    parent_tables: Mapping[str, np.ndarray] | None,
    parent_shared: Mapping[str, np.ndarray] | None = None,
    starts: Mapping[str, np.ndarray] | None = None,
    head_start: head.Head | None = None,
    parent_context: context.Context | None = None,
) -> model.EmbeddingModel:
    """Builds and compiles the model under the settings' `tf.distribute` strategy.

    Variables and the optimizer are created in the strategy's scope, so `fit`
    then runs replicated (Keras keeps the strategy the model was built under).

    Args:
        settings: trainer settings (the model family, strategy and seed).
        diffs: each feature's level diff.
        parent_tables: the parent's tables to freeze (by table name), or None.
        parent_shared: the parent's shared weights (the `mf` global bias, a head), or None.
        starts: the new rows' starting values by table (`init.start_rows`), or
            None for random rows.
        head_start: where a trained head starts (see `adaptation_head`).
        parent_context: the parent's context (`context.py`), or None; an
            extension holds it, frozen, plus a vintage of its own.

    Returns:
        The compiled model.
    """
    family = settings.family
    # Shared weights train in a model without a parent; with one, only if asked.
    train_shared = parent_tables is None or settings.options.unfreeze_shared
    with distribution_strategy(settings.options.distribution).scope():
        tables = build_table_set(
            settings.table_specs,
            diffs,
            get_strategy(settings.strategy),
            parent_tables,
            settings.seed,
            starts,
        )
        keras_model = family.build(
            tables,
            parent_shared,
            train_shared,
            adaptation_head(settings, parent_shared, head_start),
        )
        if parent_tables is not None:
            keras_model.context = context.ContextLayer(
                context_refresh.extended(diffs, parent_context), name="context"
            )
        model.compile_model(
            keras_model, settings.options.learning_rate, settings.options.sparse_updates
        )
    return keras_model


@dataclasses.dataclass(frozen=True)
class Fitted:
    """A fitted model and how it got there.

    Attributes:
        model: the fitted model.
        initial_rows: per table, the starting values of the rows it trained (its new rows).
        convergence: what early stopping did, or None (a fixed number of epochs).
        epochs: epochs run.
    """

    model: model.EmbeddingModel
    diffs: Mapping[str, levels.LevelDiff]
    initial_rows: dict[str, np.ndarray]
    convergence: early_stopping.Convergence | None
    epochs: int

    def as_parent(self) -> artifacts.ExportedEmbeddings:
        """The model as the next run reads its parent (what `embeddings/` holds)."""
        return artifacts.ExportedEmbeddings(
            {},
            feature_rows(self.model, self.diffs),
            self.model.shared_weights(),
            context=context_refresh.context_of(self.model),
        )


def feature_rows(
    keras_model: model.EmbeddingModel, diffs: Mapping[str, levels.LevelDiff]
) -> dict[str, artifacts.FeatureRows]:
    """Every table's vocabulary and rows, by table name (as `embeddings/` holds them)."""
    return {
        name: artifacts.FeatureRows.from_table(
            diffs[keras_model.table_features[name]].merged, table.full_table().numpy()
        )
        for name, table in keras_model.embeddings.items()
    }


def start_problem(
    settings: TrainerSettings,
    diffs: Mapping[str, levels.LevelDiff],
    parent: artifacts.ExportedEmbeddings,
    rows: init.LabelledRows,
) -> init.Problem:
    """What `init.start_rows` needs to start an extension's new rows."""
    names = settings.data_spec.feature_names
    return init.Problem(
        tables=settings.table_specs,
        parent={name: rows_.table for name, rows_ in parent.features.items()},
        new_levels={name: diffs[name].new_levels for name in names},
        rows=rows,
        head=settings.family.head_of(names, parent.shared),
        shared={name: float(value) for name, value in parent.shared.items()},
    )


def fit(
    settings: TrainerSettings,
    diffs: Mapping[str, levels.LevelDiff],
    parent: artifacts.ExportedEmbeddings | None,
    rows: training_rows.Rows,
    span_rows: training_rows.Rows | None = None,
) -> Fitted:
    """Starts the new rows, fits the model, then fits its OOV rows to serve an average level.

    An extension under `--context refresh` then fits its old levels' corrections
    (`context_refresh.refresh`) on `span_rows`.

    Args:
        settings: trainer settings.
        diffs: each feature's level diff.
        parent: the parent's exported rows, or None.
        rows: the training rows (`row_selection` picked them).
        span_rows: every training row of the span, for a family whose context
            fits on them (None: `rows`, those holding a new level).

    Returns:
        The fitted model and how it got there.
    """
    options, names = settings.options, settings.data_spec.feature_names
    extends = parent is not None
    adapts = extends and options.adapt == head.HEAD
    labelled = None
    if rows.kept:
        vocabularies = {name: diffs[name].merged for name in names}
        labelled = init.labelled_rows(*data.as_arrays(rows.dataset, names), vocabularies)
    starts, head_start = None, None
    if extends and labelled is not None and (adapts or options.init != init.RANDOM):
        problem = start_problem(settings, diffs, parent, labelled)
        if adapts:
            # The head follows the drift of the old levels first; new rows then start
            # from their fit under it.
            head_start = settings.family.fit_head(problem)
            problem = dataclasses.replace(problem, head=head_start)
        starts = init.start_rows(options.init, problem, settings.family.fit_new_rows)
    keras_model = build_model(
        settings,
        diffs,
        None if parent is None else {n: r.table for n, r in parent.features.items()},
        None if parent is None else parent.shared,
        starts,
        head_start,
        None if parent is None else parent.context,
    )
    initial = {
        name: table.full_table().numpy()[diffs[keras_model.table_features[name]].frozen_rows :]
        for name, table in keras_model.embeddings.items()
    }
    if not rows.kept:
        # Still build the variables so the model can be exported unchanged.
        keras_model({name: tf.constant([""]) for name in names})
        return Fitted(keras_model, diffs, initial, None, 0)
    tf.keras.utils.set_random_seed(settings.seed)
    batches = data.training_batches(rows.dataset, options.batch_size, settings.seed)
    epochs = options.epochs_for(settings.role, extends_parent=extends)
    convergence = None
    if rows.held_out:
        convergence = early_stopping.fit_until_converged(
            keras_model, batches, rows.holdout, rows.held_out, epochs, options.patience
        )
        epochs = convergence.epochs
    else:
        keras_model.fit(batches, epochs=epochs, verbose=0)
    # After training (and the head's fit under `--adapt head`): the OOV rows serve an
    # average level of the rows trained on, at the span's base rate. An extension
    # refits them too; no old level's prediction reads them.
    set_average_oov_rows(keras_model, settings.family, labelled, rows.base_rate)
    if extends and options.context == context.REFRESH:
        whole_span = settings.family.context_rows == families.SPAN_ROWS and span_rows is not None
        if whole_span:
            vocabularies = {name: diffs[name].merged for name in names}
            labelled = init.labelled_rows(*data.as_arrays(span_rows.dataset, names), vocabularies)
        context_refresh.refresh(keras_model, labelled, newest_only=not whole_span)
    return Fitted(keras_model, diffs, initial, convergence, epochs)


def set_average_oov_rows(
    keras_model: model.EmbeddingModel,
    family: families.ModelFamily,
    rows: init.LabelledRows,
    base_rate: float,
) -> None:
    """Sets a model's OOV rows so that they serve an average level (see `init`).

    Args:
        keras_model: the trained model (a parentless one or an extension).
        family: the family that built it.
        rows: the rows it trained on (their lookups weight the average level).
        base_rate: the probability the all-OOV request gets (`training_rows.Rows.base_rate`).
    """
    tables = {name: t.full_table().numpy() for name, t in keras_model.embeddings.items()}
    oov = family.average_oov_rows(tables, rows, keras_model.shared_weights(), base_rate)
    for name, row in oov.items():
        keras_model.embeddings[name].set_oov_row(np.asarray(row, np.float32))
