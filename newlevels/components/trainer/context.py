"""Where new-level rows get a fresh context: old levels' corrections used only beside a new level.

An extension freezes its old rows, so they go stale: the span's rows say how an
old user or item behaves now, and a frozen row cannot follow. On rows holding
only old levels that is the price of bit-identical predictions. But a row that
holds a new level (a new item rated by an old user) has no prediction to keep:
the parent never served it. `--context refresh` (the default) lets such rows
read their old levels fresh: after training, each old level gets one logit
correction (a ridge-logistic fit shrunk toward 0, `init.ridge.fit_shrunk`, the
model's logit as offset: what the span says about the level now), and a
prediction adds the corrections of its old levels only when the row holds a
level this model added (or an unseen one). Which rows the fit reads is the
family's (`ModelFamily.context_rows`): every training row of the span for
`additive`, whose levels add up whatever their partners, so what old-level rows
say about a level holds beside a new one too; the rows holding a new level for
`mf`, whose levels act through their partners' vectors.
Rows of old levels only read no correction: their predictions stay the parent's,
bit for bit, and no table row moves.

A child keeps every correction its ancestors fitted, frozen: a row whose
newest level came in at span k reads span k's corrections, in every later
model too, so a parent's predictions on the rows it knew stay bit-identical
in its children. A level's *vintage* is the extension that added it (0: the
chain's first model, a full retrain or a first span); a row's vintage is its
newest level's (an unseen level counts as the newest). `Context` holds, per
feature, the first row of each vintage and a [rows, vintages + 1] table of
corrections (column 0, vintage 0, is all zeros). A full retrain starts a chain
and has none.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import tensorflow as tf
import tf_keras as keras

from newlevels.components.trainer.init import ridge
from newlevels.components.trainer.levels import OOV_ROW

REFRESH, FROZEN = "refresh", "frozen"
#: the `--context` choices.
CONTEXTS = (REFRESH, FROZEN)
DEFAULT = REFRESH
#: the correction prior's base variance (a logit of about +-0.5); `ridge.fit_shrunk`
#: scales it by the evidence, from 1/16 to 256 times.
BASE_VARIANCE = 0.25
#: Gauss-Seidel sweeps over the features (each refits one feature's corrections).
SWEEPS = 2


@dataclasses.dataclass(frozen=True)
class Context:
    """A model's corrections (see the module docstring).

    Attributes:
        starts: per feature, the first row of each vintage 1..K (ascending).
        corrections: per feature, [rows, K + 1] float32; column k holds the k-th
            extension's correction of each level older than vintage k (0 elsewhere:
            its own levels, younger ones, the OOV row; column 0 is all zeros).
    """

    starts: dict[str, tuple[int, ...]]
    corrections: dict[str, np.ndarray]

    @property
    def depth(self) -> int:
        """K, the number of vintages after the first."""
        return len(next(iter(self.starts.values()), ()))

    def extended(self, first_new_rows: Mapping[str, int], rows: Mapping[str, int]) -> Context:
        """This context under a child: one more vintage (all zeros), `rows` rows per feature."""
        corrections = {}
        for f, table in self.corrections.items():
            grown = np.zeros((rows[f], table.shape[1] + 1), np.float32)
            grown[: table.shape[0], : table.shape[1]] = table
            corrections[f] = grown
        starts = {f: (*s, int(first_new_rows[f])) for f, s in self.starts.items()}
        return Context(starts, corrections)

    @classmethod
    def empty(cls, features: Mapping[str, int]) -> Context:
        """The context of a chain's first model (`features`: rows per feature)."""
        return cls(
            {f: () for f in features},
            {f: np.zeros((n, 1), np.float32) for f, n in features.items()},
        )


def row_vintages(
    index: Mapping[str, np.ndarray], starts: Mapping[str, tuple[int, ...]]
) -> np.ndarray:
    """Each row's vintage (NumPy twin of `ContextLayer.vintages`)."""
    depth = len(next(iter(starts.values()), ()))
    per_feature = []
    for f, rows in index.items():
        vintage = np.searchsorted(np.asarray(starts[f], np.int64), rows, side="right")
        per_feature.append(np.where(rows == OOV_ROW, depth, vintage))
    return np.max(np.stack(per_feature), axis=0)


class ContextLayer(keras.layers.Layer):
    """The corrections in a serving graph: row indices -> each row's logit correction."""

    def __init__(self, context: Context, **kwargs) -> None:
        super().__init__(trainable=False, **kwargs)
        self.depth = context.depth
        self.starts = {
            f: tf.constant(s, tf.int64, shape=[len(s)]) for f, s in context.starts.items()
        }
        self.corrections = {
            f: self.add_weight(
                name=f"{f}_corrections",
                shape=table.shape,
                dtype=tf.float32,
                initializer=keras.initializers.Constant(np.asarray(table, np.float32)),
                trainable=False,
            )
            for f, table in context.corrections.items()
        }

    def vintages(self, rows: Mapping[str, tf.Tensor]) -> tf.Tensor:
        """Each row's vintage: its newest level's (an unseen level is the newest)."""
        per_feature = []
        for f, index in rows.items():
            newer = tf.cast(index[:, None] >= self.starts[f][None, :], tf.int64)
            vintage = tf.reduce_sum(newer, axis=1)
            per_feature.append(
                tf.where(index == OOV_ROW, tf.constant(self.depth, tf.int64), vintage)
            )
        return tf.reduce_max(tf.stack(per_feature, axis=0), axis=0)

    def call(self, rows: Mapping[str, tf.Tensor]) -> tf.Tensor:
        vintage = self.vintages(rows)
        return tf.add_n(
            [
                tf.gather_nd(self.corrections[f], tf.stack([rows[f], vintage], axis=-1))
                for f in self.corrections
            ]
        )

    def values(self) -> Context:
        """The corrections as a `Context` (what `embeddings/` holds)."""
        starts = {f: tuple(int(v) for v in s.numpy()) for f, s in self.starts.items()}
        return Context(starts, {f: v.numpy() for f, v in self.corrections.items()})

    def set_latest(self, latest: Mapping[str, np.ndarray]) -> None:
        """Sets the newest vintage's column (this model's own corrections)."""
        for f, column in latest.items():
            table = self.corrections[f].numpy()
            table[:, -1] = np.asarray(column, np.float32)
            self.corrections[f].assign(table)


def fit_latest(
    offset: np.ndarray,
    index: Mapping[str, np.ndarray],
    labels: np.ndarray,
    first_new_rows: Mapping[str, int],
    rows: Mapping[str, int],
    newest_only: bool = False,
) -> dict[str, np.ndarray]:
    """This model's corrections of its old levels, fitted on training rows.

    Args:
        offset: each row's logit without any correction.
        index: per feature, each row's row index.
        labels: each row's 0/1 label.
        first_new_rows: per feature, the first row this model added.
        rows: per feature, the table's rows.
        newest_only: fit on the rows holding a level this model added (or an
            unseen one) only.

    Returns:
        Per feature, a [rows] correction (0 for the OOV row and this model's levels).
    """
    latest = {f: np.zeros(rows[f]) for f in index}
    offset, labels = np.asarray(offset, np.float64), np.asarray(labels, np.float64)
    if newest_only:
        newest = np.zeros(len(labels), bool)
        for f, r in index.items():
            newest |= (r >= first_new_rows[f]) | (r == OOV_ROW)
        index = {f: r[newest] for f, r in index.items()}
        offset, labels = offset[newest], labels[newest]
    for _ in range(SWEEPS):
        for f, r in index.items():
            old = (r != OOV_ROW) & (r < first_new_rows[f])
            if not old.any():
                continue
            others = sum(latest[g][index[g]] for g in index if g != f)
            problem = ridge.Levels(
                levels=r[old],
                x=np.ones((int(old.sum()), 1)),
                offset=(offset + others)[old],
                labels=labels[old],
                count=int(first_new_rows[f]),
            )
            fitted = ridge.fit_shrunk(
                problem,
                np.zeros(1),
                np.array([BASE_VARIANCE]),
                latest[f][: first_new_rows[f], None],
            )[:, 0]
            latest[f][: first_new_rows[f]] = fitted
            latest[f][OOV_ROW] = 0.0
    return latest
