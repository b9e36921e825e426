"""Tiny `mf` models trained by the Trainer's own functions and exported as `embeddings/`.

A parent, a `split` child that extends it (old rows frozen, the global bias
unfrozen), a grandchild that extends the child, and a `full` child whose old rows
move. Children train on rows mixing old and new levels, so old rows get gradients.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from newlevels.components.trainer import artifacts, fitting, init, parent
from newlevels.components.trainer.planning import plan_levels
from newlevels.components.trainer.settings import Role, TrainerSettings, TrainingOptions
from newlevels.components.trainer.train import TrainedModel, build_model
from newlevels.transforms.features import DataSpec

SPEC = DataSpec.build(["item", "user"], "label", "id")
#: tokens per generation; the child's include odd ones (every one must survive the files).
OLD = {"item": [f"i{k}" for k in range(120)], "user": [f"u{k}" for k in range(30)]}
NEW = {
    "item": [f"n{k}" for k in range(36)] + ["a,b", 'q"', "line\nbreak", "", "back\\slash"],
    "user": [f"v{k}" for k in range(10)],
}
NEWER = {"item": [f"m{k}" for k in range(20)], "user": []}


def current(*generations: dict[str, list[str]], vanished: int = 0) -> dict[str, list[str]]:
    """A run's vocabularies: the newest tokens first (as by frequency), some old ones gone."""
    return {
        name: [token for g in reversed(generations) for token in g[name]][: -vanished or None]
        for name in SPEC.feature_names
    }


def rows(vocabularies: dict[str, list[str]], count: int = 600, seed: int = 0):
    """(features, labels) drawn from the vocabularies."""
    rng = np.random.default_rng(seed)
    features = {name: rng.choice(tokens, count) for name, tokens in vocabularies.items()}
    return features, rng.integers(0, 2, count).astype(np.float32)


def train_and_export(
    uri: str,
    strategy: str,
    vocabularies: dict[str, list[str]],
    parent_uri: str | None = None,
    unfreeze_shared: bool = False,
) -> str:
    """Plans, builds and fits one model with the Trainer's functions; writes its `embeddings/`.

    Every row trains (not only the new-level rows `train.train` keeps), so that old
    rows get gradients.
    """
    options = TrainingOptions(
        model="mf",
        user_column="user",
        item_column="item",
        unfreeze_shared=unfreeze_shared,
        embedding_dim=8,
    )
    settings = TrainerSettings(SPEC, Role.INCREMENTAL, strategy, options)
    previous = None if parent_uri is None else artifacts.read_embeddings(parent_uri)
    diffs = plan_levels(SPEC, vocabularies, previous)
    tables = None if previous is None else {n: r.table for n, r in previous.features.items()}
    model = build_model(settings, diffs, tables, None if previous is None else previous.shared)
    features, labels = rows(vocabularies)
    model.fit(tf.data.Dataset.from_tensor_slices((features, labels)).batch(32), epochs=2, verbose=0)
    # Every model fits its own OOV row after training, a child's too (as `fitting.fit` does).
    merged = {name: diff.merged for name, diff in diffs.items()}
    labelled = init.labelled_rows(features, labels, merged)
    fitting.set_average_oov_rows(model, settings.family, labelled, float(labels.mean()))
    trained = TrainedModel(settings, model, diffs, 600, 600, parent_uri)
    if previous is not None and strategy != "full":
        parent.check_frozen(trained, previous)
    artifacts.write_embeddings(
        uri, trained.manifest(), trained.feature_rows(), model.shared_weights()
    )
    return uri


def train_family(root: str) -> dict[str, str]:
    """Exports the four models under `root`; returns their URIs by name."""
    uris = {"parent": train_and_export(f"{root}/parent", "split", current(OLD))}
    child = current(OLD, NEW, vanished=5)
    uris["child"] = train_and_export(
        f"{root}/child", "split", child, uris["parent"], unfreeze_shared=True
    )
    uris["full"] = train_and_export(f"{root}/full", "full", child, uris["parent"])
    uris["grandchild"] = train_and_export(
        f"{root}/grandchild", "split", current(OLD, NEW, NEWER), uris["child"]
    )
    return uris
