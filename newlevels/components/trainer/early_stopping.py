"""Early stopping of the incremental candidate: train new rows until they converge.

The candidate trains its new rows on a span's rows for at most a cap of epochs;
after every epoch it scores a held-out part of those rows (picked by a hash of
the row id, `training_rows.held_out`), stops once `patience` epochs pass without a better
held-out loss, and keeps the trainable weights of the best epoch (epoch 0 is the
start: if no epoch beats the init, the init is kept). Only trainable variables
are saved and restored: a strategy's frozen rows are not trainable variables,
or (under `constrained` and `masked`) hold the parent's values in every
snapshot, so restoring writes them bit-identically; `parent.check_frozen`
still checks them after training.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import tensorflow as tf
import tf_keras as keras

ON = "on"
OFF = "off"
#: the `--early-stopping` choices.
CHOICES = (ON, OFF)
DEFAULT = ON
#: the most epochs a candidate with early stopping trains (`--incremental-epochs` overrides).
DEFAULT_EPOCH_CAP = 20
#: epochs without a better held-out loss before training stops (`--patience`).
DEFAULT_PATIENCE = 2
#: the share of the candidate's training rows held out (`--holdout-fraction`).
DEFAULT_HOLDOUT_FRACTION = 0.1
#: Keras's BinaryCrossentropy clips probabilities the same way.
EPSILON = 1e-7


@dataclasses.dataclass(frozen=True)
class Convergence:
    """What early stopping did.

    Attributes:
        epochs: epochs trained.
        best_epoch: the epoch whose weights were kept (0: the start).
        holdout_losses: the held-out loss at the start and after each epoch.
        holdout_rows: how many rows were held out.
    """

    epochs: int
    best_epoch: int
    holdout_losses: tuple[float, ...]
    holdout_rows: int

    @property
    def holdout_loss(self) -> float:
        """The held-out loss of the kept weights."""
        return self.holdout_losses[self.best_epoch]

    def to_manifest(self) -> dict[str, object]:
        """The manifest's `early_stopping` record."""
        return {
            "best_epoch": self.best_epoch,
            "holdout_loss": round(self.holdout_loss, 6),
            "holdout_losses": [round(loss, 6) for loss in self.holdout_losses],
            "holdout_rows": self.holdout_rows,
        }


def holdout_loss(
    model: keras.Model, features: Mapping[str, tf.Tensor], labels: np.ndarray
) -> float:
    """The mean binary cross-entropy of `model` on held-out rows (float64)."""
    p = np.clip(np.asarray(model(features), np.float64), EPSILON, 1.0 - EPSILON)
    return float(-np.mean(labels * np.log(p) + (1.0 - labels) * np.log(1.0 - p)))


class KeepBest(keras.callbacks.Callback):
    """Scores the held-out rows after each epoch; stops on no progress; keeps the best epoch."""

    def __init__(
        self, features: Mapping[str, tf.Tensor], labels: np.ndarray, patience: int
    ) -> None:
        super().__init__()
        self.features, self.labels, self.patience = features, labels, patience
        self.losses: list[float] = []
        self.best_epoch = 0
        self.best: list[np.ndarray] = []

    def _score(self) -> float:
        loss = holdout_loss(self.model, self.features, self.labels)
        self.losses.append(loss)
        return loss

    def on_train_begin(self, logs=None) -> None:
        self._score()
        self.best = [v.numpy() for v in self.model.trainable_variables]

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        if self._score() < self.losses[self.best_epoch]:
            self.best_epoch = epoch + 1
            self.best = [v.numpy() for v in self.model.trainable_variables]
        elif epoch + 1 - self.best_epoch >= self.patience:
            self.model.stop_training = True

    def on_train_end(self, logs=None) -> None:
        for variable, value in zip(self.model.trainable_variables, self.best, strict=True):
            variable.assign(value)


def fit_until_converged(
    model: keras.Model,
    batches: tf.data.Dataset,
    holdout: tf.data.Dataset,
    holdout_rows: int,
    cap: int,
    patience: int,
) -> Convergence:
    """Fits `model` for at most `cap` epochs with early stopping on `holdout`.

    Args:
        model: the compiled model.
        batches: the training batches (`data.training_batches`).
        holdout: the held-out rows, unbatched (features, int label).
        holdout_rows: how many rows `holdout` holds (at least 1).
        cap: the most epochs.
        patience: epochs without a better held-out loss before stopping.

    Returns:
        What early stopping did; the model holds the best epoch's weights.
    """
    features, labels = next(iter(holdout.batch(holdout_rows)))
    keep = KeepBest(features, labels.numpy().astype(np.float64), patience)
    model.fit(batches, epochs=cap, verbose=0, callbacks=[keep])
    return Convergence(
        epochs=len(keep.losses) - 1,
        best_epoch=keep.best_epoch,
        holdout_losses=tuple(keep.losses),
        holdout_rows=holdout_rows,
    )
