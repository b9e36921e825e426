"""newlevels: add new levels of a categorical feature to an embedding model, old rows frozen.

The public API, for a TFX pipeline of your own (see README, "Use it in your own
pipeline", and `examples/`):

- `categorical_vocabularies(inputs, features)`: call it in your
  `preprocessing_fn`; it computes the vocabularies the Trainers find by name.
  Beside the tokens it returns, your `preprocessing_fn` returns the 0/1 label
  under `LABEL_KEY` and, for early stopping's held-out rows (on by default),
  a row id under `ROW_ID_KEY`. A Transform output that lacks one is refused
  with a `TransformOutputError` naming it.
- `ParentResolver(pipeline_name)`: the model to extend, the last one this
  pipeline pushed.
- `trainer_settings(features, strategy, options)`: the Trainers' typed config
  (a `TrainerSettings`; `TrainingOptions` holds epochs, the model family...).
  `IncrementalTrainer(...)` extends the parent, old rows frozen bit for bit;
  `FullRetrainTrainer(...)` is the baseline, every row retrained. `run_fn` is
  the function both run in TFX's Trainer.
- `eval_config(label_key, gate, feature_names)` (`Gate`): the Evaluator's
  config, candidate against full retrain on cohort slices, with the gate's
  thresholds.
- `Decision`: extend, rebase or hold, and the blessing of the model to serve.
- `Pusher(model, model_blessing, base_directory)`: atomic pushes, with the
  freeze certificate checked before an extension is copied.

Every name loads on first use: `import newlevels` imports neither TensorFlow
nor TFX, so the `newlevels` command and light readers start fast. The rest of
the package: `newlevels.components` (components and the Trainer module),
`newlevels.transforms` (tf.Transform helpers), `newlevels.contracts` (light
contracts: signature names, the gate, blessings), `newlevels.pipeline` (our own
pipeline, built from the same pieces), `newlevels.cli`, `newlevels.kubeflow`,
`newlevels.delta` and `newlevels.bench`.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: public name -> (module, attribute): the one table `__getattr__` loads from.
_PUBLIC = {
    "categorical_vocabularies": ("newlevels.transforms.vocabularies", "categorical_vocabularies"),
    "LABEL_KEY": ("newlevels.transforms.vocabularies", "LABEL_KEY"),
    "ROW_ID_KEY": ("newlevels.transforms.vocabularies", "ROW_ID_KEY"),
    "TransformOutputError": ("newlevels.transforms.vocabularies", "TransformOutputError"),
    "ParentResolver": ("newlevels.components.resolver.strategy", "parent_resolver"),
    "TrainingOptions": ("newlevels.components.trainer.settings", "TrainingOptions"),
    "TrainerSettings": ("newlevels.components.trainer.settings", "TrainerSettings"),
    "trainer_settings": ("newlevels.components.trainer.component", "trainer_settings"),
    "IncrementalTrainer": ("newlevels.components.trainer.component", "IncrementalTrainer"),
    "FullRetrainTrainer": ("newlevels.components.trainer.component", "FullRetrainTrainer"),
    "run_fn": ("newlevels.components.trainer.run_fn", "run_fn"),
    "Gate": ("newlevels.contracts.gate", "Gate"),
    "eval_config": ("newlevels.components.evaluation.eval_config", "eval_config"),
    "Decision": ("newlevels.components.evaluation.decision", "Decision"),
    "Pusher": ("newlevels.components.push.component", "Pusher"),
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _PUBLIC[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
