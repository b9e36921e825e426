"""The two Trainers as components for any TFX pipeline: the incremental one and the full retrain.

Both are TFX's stock `Trainer` running newlevels' `run_fn`, with an executor
that records the model's genealogy and freeze certificate in MLMD
(`executor.py`): the `Decision`, the push guard and `newlevels lineage` read
those properties. They take any Transform output whose `preprocessing_fn`
computed its vocabularies with `newlevels.transforms.categorical_vocabularies`
(the contract is in `transforms/vocabularies.py`):

    settings = trainer_settings(["userId", "movieId"])
    candidate = IncrementalTrainer(
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        base_model=parent.outputs["model"],
        settings=settings,
    )
    baseline = FullRetrainTrainer(
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        settings=settings,
    )
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tfx import v1 as tfx
from tfx.dsl.components.base import executor_spec

from newlevels.components.trainer.executor import LineageTrainerExecutor
from newlevels.components.trainer.run_fn import run_fn
from newlevels.components.trainer.settings import Role, TrainerSettings, TrainingOptions
from newlevels.components.trainer.strategies import DEFAULT as DEFAULT_STRATEGY
from newlevels.transforms.features import CategoricalFeature, DataSpec
from newlevels.transforms.vocabularies import LABEL_KEY, ROW_ID_KEY

#: the splits of a stock ExampleGen (and so of a stock Transform's output).
TRAIN_SPLITS = ("train",)
EVAL_SPLITS = ("eval",)


def dotted_name(function: Any) -> str:
    """The importable dotted path of a function object (how TFX takes a user function)."""
    return f"{function.__module__}.{function.__qualname__}"


def trainer_settings(
    features: Sequence[str | CategoricalFeature],
    strategy: str = DEFAULT_STRATEGY,
    options: TrainingOptions | None = None,
    seed: int = 0,
) -> TrainerSettings:
    """The typed settings of the incremental Trainer, for a Transform output's features.

    The full retrain takes the same settings (`FullRetrainTrainer` switches the
    role and strategy itself), so both Trainers train the same model.

    Args:
        features: the categorical features, by name as the Transform outputs their
            tokens (or as `CategoricalFeature`s).
        strategy: how the incremental Trainer freezes old rows (`split`,
            `two_tables`, `constrained` or `masked`; see README "Strategies").
        options: epochs, model family and the other training options
            (`TrainingOptions`; None: its defaults).
        seed: seeds fresh rows and shuffling.

    Returns:
        The settings, checked (a bad strategy or an option out of range raises).
    """
    spec = DataSpec(
        categorical=tuple(
            f if isinstance(f, CategoricalFeature) else CategoricalFeature(f) for f in features
        ),
        # The Trainer reads the Transform's outputs, so these are their keys.
        label=LABEL_KEY,
        id_column=ROW_ID_KEY,
    )
    return TrainerSettings(spec, Role.INCREMENTAL, strategy, options or TrainingOptions(), seed)


def _config(settings: TrainerSettings | Any, role: Role) -> Any:
    """The custom_config of the Trainer of `role` (a RuntimeParameter passes as is)."""
    if not isinstance(settings, TrainerSettings):
        return settings
    strategy = settings.strategy if role is Role.INCREMENTAL else "full"
    return TrainerSettings(
        settings.data_spec, role, strategy, settings.options, settings.seed
    ).to_custom_config()


def _trainer(
    role: Role,
    settings: TrainerSettings | Any,
    executor: type[LineageTrainerExecutor],
    train_splits: Sequence[str],
    eval_splits: Sequence[str],
    **inputs: Any,
) -> tfx.components.Trainer:
    return tfx.components.Trainer(
        run_fn=dotted_name(run_fn),
        train_args=tfx.proto.TrainArgs(splits=list(train_splits)),
        eval_args=tfx.proto.EvalArgs(splits=list(eval_splits)),
        custom_config=_config(settings, role),
        custom_executor_spec=executor_spec.ExecutorClassSpec(executor),
        **inputs,
    )


def IncrementalTrainer(  # noqa: N802 (named as the TFX component it builds)
    examples: tfx.dsl.Channel,
    transform_graph: tfx.dsl.Channel,
    base_model: tfx.dsl.Channel,
    settings: TrainerSettings | Any,
    train_splits: Sequence[str] = TRAIN_SPLITS,
    eval_splits: Sequence[str] = EVAL_SPLITS,
) -> tfx.components.Trainer:
    """The incremental Trainer: extends `base_model`, old rows frozen, new rows trained.

    It diffs the Transform's vocabularies against the parent's by token (so a
    Transform that recomputes its vocabularies each span, indices and all, is
    fine), keeps every parent row bit for bit, appends rows for new tokens and
    trains on the rows holding a new level. With no parent (an empty
    `base_model`, the first run) it trains every level. Its Model artifact
    records `newlevels_new_levels` and the other properties of
    `executor.Properties`.

    Args:
        examples: transformed examples (e.g. `transform.outputs["transformed_examples"]`).
        transform_graph: the Transform's graph.
        base_model: the parent, e.g. `ParentResolver(...).outputs["model"]`.
        settings: `trainer_settings(...)`, or a RuntimeParameter holding its
            `to_custom_config()` as JSON.
        train_splits: the splits it trains on.
        eval_splits: the splits Keras reports its evaluation loss on.

    Returns:
        A TFX Trainer (give it an id with `.with_id`).
    """
    return _trainer(
        Role.INCREMENTAL,
        settings,
        LineageTrainerExecutor,
        train_splits,
        eval_splits,
        examples=examples,
        transform_graph=transform_graph,
        base_model=base_model,
    )


def FullRetrainTrainer(  # noqa: N802 (named as the TFX component it builds)
    examples: tfx.dsl.Channel,
    transform_graph: tfx.dsl.Channel,
    settings: TrainerSettings | Any,
    train_splits: Sequence[str] = TRAIN_SPLITS,
    eval_splits: Sequence[str] = EVAL_SPLITS,
    executor: type[LineageTrainerExecutor] = LineageTrainerExecutor,
) -> tfx.components.Trainer:
    """The full retrain: the same model, every row trained from scratch (the gate's baseline).

    Args:
        examples: transformed examples of every span it should learn from.
        transform_graph: the Transform's graph (the same as the incremental Trainer's).
        settings: the incremental Trainer's settings (the role and the `full`
            strategy are set here), or a custom_config as `IncrementalTrainer` takes.
        train_splits: the splits it trains on.
        eval_splits: the splits Keras reports its evaluation loss on.
        executor: the Trainer executor; newlevels' own pipeline passes the one
            that adds the earlier spans its Transform's span history records.

    Returns:
        A TFX Trainer (give it an id with `.with_id`).
    """
    return _trainer(
        Role.FULL,
        settings,
        executor,
        train_splits,
        eval_splits,
        examples=examples,
        transform_graph=transform_graph,
    )
