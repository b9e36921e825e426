"""Generated extension problems whose answer is known, run through the Trainer's own `fit`.

A parent knows OLD levels of two features; a span's rows mix old and new levels
(so old rows receive gradients), with labels drawn from a known logistic model:
additive (logit = effect of the item + effect of the user + bias) or mf (logit =
<user, item> + biases). The parent's rows are the true ones, so a good start
for a new level is its true effect.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from newlevels.components.trainer import artifacts, data, families, fitting, training_rows
from newlevels.components.trainer.levels import LevelDiff, diff_levels
from newlevels.components.trainer.settings import Role, TrainerSettings, TrainingOptions
from newlevels.transforms.features import DataSpec

FEATURES = ("item", "user")
OLD = {"item": [f"i{k}" for k in range(20)], "user": [f"u{k}" for k in range(10)]}
NEW = {"item": [f"i_new{k}" for k in range(8)], "user": [f"u_new{k}" for k in range(3)]}
DIM = {"additive": 2, "mf": 3}
MF_COLUMNS = {"user_column": "user", "item_column": "item"}


@dataclasses.dataclass(frozen=True)
class Problem:
    """A parent, the truth behind it, and a span's rows."""

    family: str
    parent: artifacts.ExportedEmbeddings
    truth: dict[str, np.ndarray]  # per table: the true table, OOV row then OLD then NEW
    diffs: dict[str, LevelDiff]
    tokens: dict[str, np.ndarray]
    labels: np.ndarray

    @property
    def spec(self) -> DataSpec:
        return DataSpec.build(list(FEATURES), "label", "id")

    def settings(self, strategy: str = "split", role: Role = Role.INCREMENTAL, **options):
        columns = {"model": "mf", **MF_COLUMNS} if self.family == "mf" else {}
        return TrainerSettings(
            self.spec,
            role,
            strategy,
            TrainingOptions(**{"embedding_dim": DIM[self.family], **columns, **options}),
            seed=3,
        )

    def batches(self) -> tf.data.Dataset:
        ids = np.array([f"r{k}" for k in range(len(self.labels))])
        return data.batches_from_arrays(self.tokens, self.labels, ids)

    def fit(self, settings: TrainerSettings, parent: bool = True) -> fitting.Fitted:
        """`fitting.fit` as `train.train` calls it, on these rows (without a parent if asked)."""
        diffs = self.diffs if parent else {f: diff_levels(f, [], self.levels(f)) for f in FEATURES}
        selection = fitting.row_selection(settings, diffs, extends_parent=parent)
        rows = training_rows.select_rows(self.batches(), **dataclasses.asdict(selection))
        every = training_rows.select_rows(self.batches()) if parent else None
        return fitting.fit(settings, diffs, self.parent if parent else None, rows, every)

    def levels(self, feature: str) -> list[str]:
        """The levels the rows hold, in a fixed order."""
        return sorted(set(self.tokens[feature].tolist()))

    def old_levels_only(self) -> Problem:
        """These rows without the ones holding a new level (a first span)."""
        keep = np.all([np.isin(self.tokens[f], OLD[f]) for f in FEATURES], axis=0)
        tokens = {f: t[keep] for f, t in self.tokens.items()}
        return dataclasses.replace(self, tokens=tokens, labels=self.labels[keep])

    def later(self) -> Problem:
        """These rows with their new levels renamed (new even to a parent that knows NEW)."""
        tokens = {
            f: np.array([f"{t}_later" if t in NEW[f] else t for t in self.tokens[f]])
            for f in FEATURES
        }
        return dataclasses.replace(self, tokens=tokens)

    def extending(self, parent: artifacts.ExportedEmbeddings) -> Problem:
        """These rows, extending another parent (its vocabulary diffed by token)."""
        diffs = {f: diff_levels(f, parent.features[f].vocabulary, self.levels(f)) for f in FEATURES}
        return dataclasses.replace(self, parent=parent, diffs=diffs)


def table_names(family: str) -> dict[str, str]:
    """Each table of the family, by name, to its feature."""
    spec = DataSpec.build(list(FEATURES), "label", "id")
    found = families.get_family(family, user_column="user", item_column="item")
    return {t.name: t.feature for t in found.table_specs(spec, DIM[family])}


def make(family: str = "additive", rows: int = 800, base: float = 0.0, seed: int = 0) -> Problem:
    """A generated problem of `family` with `rows` span rows drawn by `seed`.

    The truth is the same for every seed; `base` shifts every logit (the base rate).
    """
    # One truth per family (fixed seed); `seed` draws the rows.
    truth_rng, rng = np.random.default_rng(100), np.random.default_rng(seed)
    levels = {f: 1 + len(OLD[f]) + len(NEW[f]) for f in FEATURES}
    dim = DIM[family]
    truth = {}
    for name, feature in table_names(family).items():
        width = 1 if name.endswith("_bias") else dim
        scale = 0.7 if family == "mf" else 1.0
        truth[name] = truth_rng.normal(0.0, scale, (levels[feature], width)).astype(np.float32)
        truth[name][0] = 0.0
    index = {f: rng.integers(1, levels[f], rows) for f in FEATURES}
    if family == "mf":
        logit = (
            np.sum(truth["user"][index["user"]] * truth["item"][index["item"]], axis=-1)
            + truth["user_bias"][index["user"], 0]
            + truth["item_bias"][index["item"], 0]
        )
    else:
        logit = sum(truth[f][index[f]].sum(axis=-1) for f in FEATURES)
    labels = (rng.random(rows) < 1 / (1 + np.exp(-(logit + base)))).astype(np.int64)
    vocabulary = {f: [*OLD[f], *NEW[f]] for f in FEATURES}
    tokens = {f: np.array(vocabulary[f])[index[f] - 1] for f in FEATURES}
    parent_rows = {
        name: artifacts.FeatureRows.from_table(tuple(OLD[feature]), table[: 1 + len(OLD[feature])])
        for name, table in truth.items()
        for feature in [table_names(family)[name]]
    }
    shared = {"global_bias": np.float32(0.0)} if family == "mf" else {}
    parent = artifacts.ExportedEmbeddings({}, parent_rows, shared)
    diffs = {f: diff_levels(f, OLD[f], [*NEW[f], *reversed(OLD[f])]) for f in FEATURES}
    return Problem(family, parent, truth, diffs, tokens, labels)


def held_out_rows(problem: Problem, settings: TrainerSettings) -> tuple[dict, np.ndarray]:
    """The rows early stopping held out, as `early_stopping.holdout_loss` takes them."""
    selection = fitting.row_selection(settings, problem.diffs, extends_parent=True)
    rows = training_rows.select_rows(problem.batches(), **dataclasses.asdict(selection))
    features, labels = next(iter(rows.holdout.batch(rows.held_out)))
    return features, labels.numpy().astype(np.float64)
