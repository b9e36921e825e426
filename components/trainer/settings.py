"""Typed settings of one Trainer, carried through TFX as the Trainer's custom_config."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

from components.trainer import families, optimizers
from components.trainer.distribution import DEFAULT, check_distribution
from components.trainer.strategies import REGISTRY, UnknownStrategyError
from transforms.features import DataSpec


class Role(str, enum.Enum):
    """What a Trainer in the pipeline is for."""

    INCREMENTAL = "incremental"  # extends the parent model, trains new-level rows only
    FULL = "full"  # retrains every row on all spans (the baseline)


@dataclasses.dataclass(frozen=True)
class TrainerSettings:
    """Everything a Trainer run needs beyond its TFX inputs.

    Attributes:
        data_spec: the columns.
        role: incremental candidate or full-retrain baseline.
        strategy: registry name of the embedding strategy.
        epochs: passes over the training rows.
        batch_size: rows per step.
        learning_rate: RMSprop learning rate.
        seed: seeds fresh rows and shuffling.
        fresh_on_mismatch: train a fresh model (no parent) when the parent has
            other features or embedding widths, instead of failing.
        distribution: name of the `tf.distribute` strategy (see `distribution.py`).
        model: registry name of the model family (see `families.py`).
        user_column: the user feature of the `mf` family.
        item_column: the item feature of the `mf` family.
        unfreeze_shared: let shared weights (the `mf` global bias) train in an
            incremental run; they stay at the parent's value otherwise.
        replay_fraction: with `unfreeze_shared`, the fraction of old-level rows
            (picked by a hash of the row id) mixed into incremental training.
        min_count: a new level gets a row once seen this often in the training
            rows, adding the parent's pending count (see `admission.py`).
        sparse_updates: `lazy` (a sparse gradient updates only its rows and
            their optimizer slots) or `dense` (tf_keras's stock update, O(rows)
            per step); see `optimizers.py`.
    """

    data_spec: DataSpec
    role: Role
    strategy: str
    epochs: int = 2
    batch_size: int = 64
    learning_rate: float = 0.01
    seed: int = 0
    fresh_on_mismatch: bool = False
    distribution: str = DEFAULT
    model: str = families.DEFAULT
    user_column: str = families.DEFAULT_USER_COLUMN
    item_column: str = families.DEFAULT_ITEM_COLUMN
    unfreeze_shared: bool = False
    replay_fraction: float = 0.0
    min_count: int = 1
    sparse_updates: str = optimizers.DEFAULT

    def __post_init__(self) -> None:
        if self.strategy not in REGISTRY:
            raise UnknownStrategyError(
                f"unknown strategy {self.strategy!r}: choose one of {', '.join(sorted(REGISTRY))}"
            )
        if self.epochs < 1 or self.batch_size < 1 or self.learning_rate <= 0:
            raise ValueError("epochs, batch_size and learning_rate must be positive")
        check_distribution(self.distribution)
        optimizers.check_sparse_updates(self.sparse_updates)
        self.family.check(self.data_spec)
        if not 0.0 <= self.replay_fraction <= 1.0:
            raise ValueError(f"replay_fraction must be in [0, 1], got {self.replay_fraction}")
        if self.min_count < 1:
            raise ValueError(f"min_count must be 1 or more, got {self.min_count}")

    @property
    def family(self) -> families.ModelFamily:
        """The model family these settings select.

        Raises:
            families.UnknownModelError: for a name not in the registry.
        """
        return families.get_family(self.model, self.user_column, self.item_column)

    def to_custom_config(self) -> dict[str, Any]:
        config = dataclasses.asdict(self)
        config["data_spec"] = self.data_spec.to_dict()
        config["role"] = self.role.value
        return config

    @classmethod
    def from_custom_config(cls, config: Mapping[str, Any]) -> TrainerSettings:
        values = dict(config)
        values["data_spec"] = DataSpec.from_dict(values["data_spec"])
        values["role"] = Role(values["role"])
        return cls(**values)
