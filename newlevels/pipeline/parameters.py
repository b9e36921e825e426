"""The per-run values of the pipeline: plain values locally, RuntimeParameters on Kubeflow.

KubeflowV2DagRunner turns a RuntimeParameter into a pipeline input only when it
is a component's *whole* execution property: the compiled task input is either
a constant or the pipeline input of that name, and KFP v2 has no templating
inside a value. So a per-run value is exposed as the property that holds it:

    data_root                   ExampleGen `input_base` (the data root)
    range_config                ExampleGen `range_config` (a RangeConfig as JSON: the span)
    incremental_trainer_config  incremental Trainer `custom_config` (TrainerSettings as
                                JSON: strategy, epochs, distribution, ...)
    eval_config                 Evaluator and Decision `eval_config` (a tfma.EvalConfig as
                                JSON: the gate's floor, tolerance and staleness budget,
                                as TFMA thresholds; the Decision reads the same value)
    decision_policy             Decision `policy` (extend-or-rebase or extend-only)

The baseline schedule (`--baseline`) is not a runtime parameter: whether a run
trains its full retrain is decided from the store before the run is built
(`pipeline/baseline_plan.py`), and a compiled pipeline always trains it.

`parameter_values` computes every value for a RunConfig, so the compile
defaults and the values a user passes per run come from the same code.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from google.protobuf import json_format
from tfx import v1 as tfx

from newlevels.components.evaluation.eval_config import eval_config
from newlevels.components.ingest.component import span_range
from newlevels.components.trainer.settings import Role
from newlevels.contracts.baseline import ALWAYS, Plan
from newlevels.pipeline.config import RunConfig

DATA_ROOT = "data_root"
RANGE_CONFIG = "range_config"
INCREMENTAL_TRAINER_CONFIG = "incremental_trainer_config"
EVAL_CONFIG = "eval_config"
DECISION_POLICY = "decision_policy"
NAMES = (DATA_ROOT, RANGE_CONFIG, INCREMENTAL_TRAINER_CONFIG, EVAL_CONFIG, DECISION_POLICY)


@dataclasses.dataclass(frozen=True)
class RunValues:
    """What `create_pipeline` hands to the components for the per-run settings.

    Each attribute is either the plain value (local runs) or a
    `tfx.dsl.experimental.RuntimeParameter` of the same name (Kubeflow).
    """

    data_root: Any
    range_config: Any
    incremental_trainer_config: Any
    eval_config: Any
    decision_policy: Any
    #: the Evaluator's config on a span that skipped its full retrain (None: `eval_config`).
    skipped_eval_config: Any = None
    #: the run's baseline plan as the Decision takes it (JSON; "" on Kubeflow: trained).
    baseline_plan: str = ""

    @property
    def evaluator_eval_config(self) -> Any:
        """What the Evaluator runs: `eval_config`, or the candidate alone when skipped."""
        return self.eval_config if self.skipped_eval_config is None else self.skipped_eval_config

    @property
    def decision_eval_config(self) -> Any:
        """The eval_config as the Decision takes it: the same RuntimeParameter, or JSON."""
        if isinstance(self.eval_config, tfx.dsl.experimental.RuntimeParameter):
            return self.eval_config
        return json_format.MessageToJson(self.eval_config, sort_keys=True, indent=None)


def plain_values(config: RunConfig, baseline: Plan = ALWAYS) -> RunValues:
    """The values of a local run.

    Args:
        config: the run's configuration.
        baseline: the run's baseline plan; when it skips the full retrain, the
            Evaluator gets the candidate alone against the recorded AUCs, and
            the Decision still reads the gate from `eval_config`.
    """
    recorded = None
    if not baseline.trained:
        recorded = dict(baseline.reference.auc) if baseline.reference else {}
    spec = config.data_spec
    return RunValues(
        data_root=config.data_root,
        range_config=span_range(config.span),
        incremental_trainer_config=config.trainer_settings(Role.INCREMENTAL).to_custom_config(),
        eval_config=eval_config(
            config.data_spec.label, config.gate, config.data_spec.feature_names
        ),
        decision_policy=config.gate.policy,
        skipped_eval_config=None
        if recorded is None
        else eval_config(spec.label, config.gate, spec.feature_names, recorded),
        baseline_plan=json.dumps(baseline.to_dict(), sort_keys=True),
    )


def parameter_values(config: RunConfig) -> dict[str, str]:
    """Every runtime parameter's value for `config`, as the strings KFP passes.

    Proto and dict values are JSON, in the form the components parse them from.
    """
    values = plain_values(config)
    return {
        DATA_ROOT: values.data_root,
        RANGE_CONFIG: json_format.MessageToJson(values.range_config, sort_keys=True, indent=None),
        INCREMENTAL_TRAINER_CONFIG: json.dumps(values.incremental_trainer_config, sort_keys=True),
        EVAL_CONFIG: values.decision_eval_config,
        DECISION_POLICY: values.decision_policy,
    }


def kubeflow_parameters(config: RunConfig) -> RunValues:
    """RuntimeParameters named as in `NAMES`, defaulting to `config`'s values."""
    defaults = parameter_values(config)
    return RunValues(
        **{
            name: tfx.dsl.experimental.RuntimeParameter(name=name, ptype=str, default=value)
            for name, value in defaults.items()
        }
    )


def run_values(config: RunConfig, runtime_parameters: bool, baseline: Plan = ALWAYS) -> RunValues:
    """RuntimeParameters (Kubeflow compile) or the plain values (local run) of `config`."""
    return kubeflow_parameters(config) if runtime_parameters else plain_values(config, baseline)
