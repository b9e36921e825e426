"""What extended what: runs and models, read from MLMD only (never from run summaries)."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import ml_metadata as mlmd
from google.protobuf import json_format

from newlevels.components.evaluation.metrics import MODELS, SLICES
from newlevels.components.trainer.executor import NO_PARENT, Properties
from newlevels.contracts import blessing as gate_record
from newlevels.contracts import gate as gates
from newlevels.contracts.baseline import Plan
from newlevels.pipeline import metadata
from newlevels.pipeline.errors import ConfigError
from newlevels.pipeline.pipeline import NodeIds


@dataclasses.dataclass(frozen=True)
class ModelRecord:
    """One Model artifact and the genealogy properties its Trainer recorded."""

    id: int
    uri: str
    role: str
    strategy: str
    embedding_dim: int
    levels: dict[str, dict[str, int]]
    rows_trained: int
    parent_id: int | None
    created: str
    #: the model family: {"name"} and, for mf, "user_column" and "item_column".
    model: dict[str, str] = dataclasses.field(default_factory=lambda: {"name": "unknown"})

    @classmethod
    def from_artifact(cls, artifact: metadata.Artifact) -> ModelRecord:
        def value(key: str) -> Any:
            return _plain(metadata.custom_value(artifact, key))

        parent = value(Properties.PARENT_MODEL_ID)
        levels = value(Properties.LEVELS) or {}
        return cls(
            id=artifact.id,
            uri=artifact.uri,
            role=value(Properties.ROLE) or "unknown",
            strategy=value(Properties.STRATEGY) or "unknown",
            embedding_dim=int(value(Properties.EMBEDDING_DIM) or 0),
            levels={f: {k: int(v) for k, v in c.items()} for f, c in levels.items()},
            rows_trained=int(value(Properties.ROWS_TRAINED) or 0),
            parent_id=None if parent in (None, NO_PARENT) else int(parent),
            created=_time(artifact.create_time_since_epoch),
            model={
                key: found
                for key, prop in (
                    ("name", Properties.MODEL_FAMILY),
                    ("user_column", Properties.USER_COLUMN),
                    ("item_column", Properties.ITEM_COLUMN),
                )
                if (found := value(prop)) is not None
            }
            or {"name": "unknown"},
        )


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """One pipeline run: the span, both models, the decision and what was pushed.

    `decision` is extend, rebase or hold (None: the run stopped before its
    candidate was trained); `rebase_movement` ({table: {max_abs, mean_abs,
    tokens, missing}}) says how far the parent's rows moved in the full retrain
    a rebase serves, and `rebased_from` names that parent.
    """

    run_id: str
    span: int | None
    candidate: ModelRecord | None
    baseline: ModelRecord | None
    auc: dict[str, dict[str, float | None]]
    blessed: bool
    pushed: bool
    pushed_model: str | None
    pushed_path: str | None
    time: str
    decision: str | None = None
    decision_reasons: list[str] = dataclasses.field(default_factory=list)
    rebase_movement: dict[str, dict[str, float]] | None = None
    rebased_from: int | None = None
    #: the run's baseline plan (`contracts.baseline.Plan.to_dict` and `requested`);
    #: None for a run recorded before the schedule (it trained its full retrain).
    baseline_plan: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _plain(value: Any) -> Any:
    """Struct custom properties as plain Python (TFX wraps scalars in `__value__`)."""
    if value is None or isinstance(value, (int, float, str)):
        return value
    decoded = json_format.MessageToDict(value)
    return decoded.get("__value__", decoded) if isinstance(decoded, dict) else decoded


def _time(millis: int) -> str:
    stamp = datetime.datetime.fromtimestamp(millis / 1000, tz=datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%d %H:%M:%S")


def _model(run: metadata.PipelineRun, node_id: str) -> ModelRecord | None:
    node = run.nodes.get(node_id)
    artifact = node.output("model") if node else None
    return ModelRecord.from_artifact(artifact) if artifact else None


def _aucs(recorded: dict | None) -> dict[str, dict[str, float | None]]:
    recorded = recorded or {}
    return {m: {s: recorded.get(m, {}).get(s) for s in SLICES} for m in MODELS}


#: the reason a run without a Decision records (a span with no new level).
NOTHING_NEW = "no new level since the parent: nothing trained, evaluated or pushed"
#: the reason of a run recorded before the Decision existed (BaselinePromotion).
DERIVED = "recorded before decisions: derived from what was pushed"


def _decision(
    run: metadata.PipelineRun, candidate: ModelRecord | None, pushed_as: str | None
) -> tuple[str | None, list[str], metadata.Artifact | None]:
    """(decision, reasons, the blessing holding the gate's AUCs) of a run."""
    node = run.nodes.get(NodeIds.DECISION)
    if node is not None:
        blessing = node.output("candidate_blessing")
        reasons = _plain(metadata.custom_value(blessing, gate_record.REASONS)) or []
        return metadata.custom_value(blessing, gate_record.DECISION), list(reasons), blessing
    legacy = run.nodes.get(NodeIds.PROMOTION)
    if legacy is not None:
        derived = {"candidate": gates.EXTEND, "baseline": gates.REBASE}.get(pushed_as, gates.HOLD)
        return derived, [DERIVED], legacy.output("blessing")
    if candidate is not None and not run.nodes.get(NodeIds.FULL_TRAINER):
        return gates.HOLD, [NOTHING_NEW], None
    return None, [], None


def run_record(run: metadata.PipelineRun) -> RunRecord:
    """Reads one run's lineage facts from its MLMD executions and artifacts."""
    example_gen = run.nodes.get(NodeIds.EXAMPLE_GEN)
    examples = example_gen.output("examples") if example_gen else None
    span = metadata.custom_value(examples, "span")
    pushes = {
        name: node.output("pushed_model")
        for name, node_id in (("candidate", NodeIds.PUSHER), ("baseline", NodeIds.BASELINE_PUSHER))
        if (node := run.nodes.get(node_id)) is not None
    }
    pushed_as = next((k for k, a in pushes.items() if metadata.custom_value(a, "pushed")), None)
    started = min((n.execution.create_time_since_epoch for n in run.nodes.values()), default=0)
    candidate = _model(run, NodeIds.INCREMENTAL_TRAINER)
    decision, reasons, gate = _decision(run, candidate, pushed_as)
    if run.nodes.get(NodeIds.DECISION) is None:
        # Before the Decision, the Evaluator's blessing said whether the candidate passed.
        evaluator = run.nodes.get(NodeIds.EVALUATOR)
        blessing = evaluator.output("blessing") if evaluator else None
    else:
        blessing = gate
    movement = _plain(metadata.custom_value(gate, gate_record.REBASE_MOVEMENT))
    parent_id = metadata.custom_value(gate, gate_record.PARENT_MODEL_ID)
    return RunRecord(
        run_id=run.run_id,
        span=span,
        candidate=candidate,
        baseline=_model(run, NodeIds.FULL_TRAINER),
        auc=_aucs(_plain(metadata.custom_value(gate, gate_record.AUC))),
        blessed=bool(metadata.custom_value(blessing, "blessed")),
        pushed=pushed_as is not None,
        pushed_model=pushed_as,
        pushed_path=metadata.custom_value(pushes[pushed_as], "pushed_destination")
        if pushed_as
        else None,
        time=_time(started),
        decision=decision,
        decision_reasons=reasons,
        rebase_movement=movement,
        rebased_from=parent_id if movement is not None and parent_id != NO_PARENT else None,
        baseline_plan=_baseline_plan(metadata.custom_value(gate, gate_record.BASELINE_PLAN)),
    )


def _baseline_plan(recorded: Any) -> dict[str, Any] | None:
    """The recorded baseline plan, its numbers as written (MLMD structs hold floats)."""
    plain = _plain(recorded)
    if not plain:
        return None
    return {**Plan.from_dict(plain).to_dict(), "requested": bool(plain.get("requested"))}


def history(store: mlmd.MetadataStore, pipeline_name: str) -> list[RunRecord]:
    """Every run of pipeline `pipeline_name`, oldest first.

    Raises:
        ConfigError: if the store holds no run of the pipeline (naming the ones it holds).
    """
    runs = metadata.all_runs(store, pipeline_name)
    if not runs:
        known = sorted(c.name for c in store.get_contexts_by_type("pipeline"))
        raise ConfigError(
            f"the MLMD store holds no run of pipeline {pipeline_name!r} "
            f"(pipelines in it: {', '.join(known) or 'none'}; choose one with --pipeline-name)"
        )
    return [run_record(run) for run in runs]


def models_by_id(records: list[RunRecord]) -> dict[int, ModelRecord]:
    return {
        model.id: model
        for record in records
        for model in (record.candidate, record.baseline)
        if model is not None
    }
