"""A stand-in for the KFP v2 driver and launcher, to run a compiled PipelineSpec in a test.

Not an orchestrator we ship: it runs the tasks of `root.dag` one at a time, in
dependency order, the way the backend would hand them to their containers
(`backend/src/v2/driver`, `backend/src/v2/component/launcher_v2.go`):

- parameters: a task input is the run's value of the pipeline input it names
  (else the root default) or the compiled constant, checked against the
  component's declared type as the driver checks it;
- input artifacts: read from the MLMD store (the producer's OUTPUT events), handed
  over as RuntimeArtifacts (name, uri, metadata, and the type the component declares);
- outputs: `ROOT/PIPELINE/RUN/TASK/UUID/KEY` under the spec's `defaultPipelineRoot`,
  with the executor output file beside them (`output_metadata.json`);
- the command: the container's `command` and `args` exactly as compiled, `{{$}}`
  replaced by the ExecutorInput JSON, `python` being this venv's interpreter; the
  `lifecycle.preCacheCheck` hook first, its output (the ExampleGen driver's span,
  fingerprint and pattern) applied to the task before the container starts;
- afterwards: the URIs and metadata the executor wrote are merged into the outputs
  and recorded in MLMD (`kfp_mlmd.py`), then read back for the downstream tasks
  (`kfp_executors.py`);
- `triggerPolicy.condition`: evaluated on the task's inputs (`kfp_cel.py`); a task
  whose condition is false, or that reads from a task that did not run, is skipped;
- importer tasks as the importer launcher runs them, and resolver tasks as Vertex
  AI Pipelines runs them (the open-source backend refuses resolver executors): the
  newest artifact matching the filter, after `{{$.inputs.artifacts['K'].metadata['P']}}`
  is filled from the task's inputs; nothing is resolved when that input is empty.

Anything else a spec could hold (task output parameters, sub-DAGs, loops, other
placeholders, other executors) is refused with `LauncherError`, naming the task.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
import uuid

from google.protobuf import json_format, struct_pb2
from kfp.pipeline_spec import pipeline_spec_pb2 as kfp

from tests import kfp_cel, kfp_executors
from tests.kfp_executors import OUTPUT_FILE, LauncherError
from tests.kfp_mlmd import Artifact, Execution, LauncherStore

COMPLETE, SKIPPED = "COMPLETE", "SKIPPED"
_TYPES = kfp.ParameterType
#: what the driver accepts for each non-STRING type (a STRING input takes any value, as text).
_KINDS = {
    _TYPES.NUMBER_DOUBLE: "number_value",
    _TYPES.NUMBER_INTEGER: "number_value",
    _TYPES.BOOLEAN: "bool_value",
    _TYPES.LIST: "list_value",
    _TYPES.STRUCT: "struct_value",
}


@dataclasses.dataclass
class TaskRun:
    """What one task did in a run."""

    state: str
    inputs: dict[str, list[Artifact]]
    outputs: dict[str, list[Artifact]]
    executor_input: kfp.ExecutorInput
    seconds: float = 0.0


def dependencies(task: kfp.PipelineTaskSpec) -> set[str]:
    """The tasks `task` waits for: its `dependentTasks` and the producers it reads."""
    producers = {a.task_output_artifact.producer_task for a in task.inputs.artifacts.values()}
    return set(task.dependent_tasks) | (producers - {""})


def topological_order(tasks: dict[str, kfp.PipelineTaskSpec]) -> list[str]:
    """Task names, each after every task it depends on (ties by name).

    Raises:
        LauncherError: for a cycle or a dependency on a task the DAG does not hold.
    """
    order: list[str] = []
    while len(order) < len(tasks):
        ready = sorted(n for n in tasks if n not in order and dependencies(tasks[n]) <= set(order))
        if not ready:
            stuck = sorted(set(tasks) - set(order))
            raise LauncherError(f"tasks {stuck} wait on each other or on tasks the DAG lacks")
        order.append(ready[0])
    return order


def typed(value: struct_pb2.Value, declared: int, where: str) -> struct_pb2.Value:
    """A parameter value checked against its declared type, as the driver checks it.

    Raises:
        LauncherError: when a non-STRING input gets a value of another kind.
    """
    if declared == _TYPES.STRING:
        return struct_pb2.Value(string_value=kfp_executors.text(value))
    kind = value.WhichOneof("kind")
    if kind != _KINDS.get(declared):
        name = _TYPES.ParameterTypeEnum.Name(declared)
        raise LauncherError(f"{where}: type mismatch, expected {name}, got {kind}")
    return value


class LocalLauncher:
    """Runs a compiled PipelineSpec's tasks as subprocesses, recording into `store`."""

    def __init__(self, spec: kfp.PipelineSpec, store: LauncherStore, python: str = sys.executable):
        self.spec, self.store, self.python = spec, store, python
        self.executors = json_format.ParseDict(
            json_format.MessageToDict(spec.deployment_spec), kfp.PipelineDeploymentConfig()
        ).executors

    def run(self, run_id: str, parameter_values: dict[str, object]) -> dict[str, TaskRun]:
        """Runs every task of the root DAG once, in dependency order.

        Args:
            run_id: the run's name (its MLMD run context and output folder).
            parameter_values: the run's pipeline parameters; the rest keep their defaults.

        Returns:
            Each task's run, by task name.

        Raises:
            LauncherError: for a spec or parameter this launcher cannot run.
            TaskFailed: when a task's container exits non-zero (the run stops there).
        """
        if not self.spec.default_pipeline_root:
            raise LauncherError("the spec has no defaultPipelineRoot to write outputs under")
        root_values = self._root_values(parameter_values)
        self.store.open_run(self.spec.pipeline_info.name, run_id)
        runs: dict[str, TaskRun] = {}
        for name in topological_order(self.spec.root.dag.tasks):
            started = time.monotonic()
            runs[name] = self._task(name, root_values, runs, run_id)
            runs[name].seconds = time.monotonic() - started
        return runs

    def _root_values(self, given: dict[str, object]) -> dict[str, struct_pb2.Value]:
        definitions = self.spec.root.input_definitions.parameters
        unknown = sorted(set(given) - set(definitions))
        if unknown:
            raise LauncherError(f"the pipeline has no parameter(s) {unknown}")
        values = {}
        for name, definition in definitions.items():
            if name in given:
                value = json_format.ParseDict(given[name], struct_pb2.Value())
            elif definition.HasField("default_value"):
                value = definition.default_value
            elif definition.is_optional:
                continue
            else:
                raise LauncherError(f"pipeline parameter {name!r} has no value and no default")
            values[name] = typed(value, definition.parameter_type, f"pipeline parameter {name!r}")
        return values

    def _task(self, name: str, root_values: dict, runs: dict[str, TaskRun], run_id: str) -> TaskRun:
        task = self.spec.root.dag.tasks[name]
        component = self.spec.components[task.component_ref.name]
        executor_input = kfp.ExecutorInput()
        if not component.executor_label or task.WhichOneof("iterator"):
            raise LauncherError(f"task {name}: sub-DAGs and loops are not implemented here")
        if any(runs[d].state != COMPLETE for d in dependencies(task)):
            return TaskRun(SKIPPED, {}, {}, executor_input)
        self._parameters(name, task, component, root_values, executor_input)
        inputs = self._artifacts(name, task, component, runs, executor_input)
        executor = self.executors[component.executor_label]
        kind = executor.WhichOneof("spec")
        condition = task.trigger_policy.condition
        if condition and kind != "container":
            raise LauncherError(f"task {name}: a condition on a {kind} task")
        if condition:
            view = json_format.MessageToDict(executor_input, preserving_proto_field_name=True)
            if not kfp_cel.evaluate(condition, view):
                self.store.start_execution("system.ContainerExecution", name, inputs, False)
                return TaskRun(SKIPPED, inputs, {}, executor_input)
        prefix = f"runs/{run_id}/tasks/{name}/artifacts/"
        if kind == "resolver":
            outputs = kfp_executors.resolve(self.store, name, executor.resolver, executor_input)
            return TaskRun(COMPLETE, inputs, outputs, executor_input)
        if kind == "importer":
            execution = self.store.start_execution("system.ImporterExecution", name, inputs, True)
            uri = self._importer_uri(name, task, executor.importer, root_values)
            [key] = component.output_definitions.artifacts
            outputs = kfp_executors.import_uri(
                self.store, name, executor.importer, uri, key, prefix
            )
        elif kind == "container":
            execution = self.store.start_execution("system.ContainerExecution", name, inputs, True)
            self._provision(name, component, executor_input, run_id)
            try:
                outputs = kfp_executors.launch(
                    self.store, name, executor.container, executor_input, self.python, prefix
                )
            except kfp_executors.TaskFailed:
                self.store.finish_execution(execution, {}, Execution.FAILED)
                raise
        else:
            raise LauncherError(f"task {name}: a {kind} executor is not implemented here")
        self.store.finish_execution(execution, outputs, Execution.COMPLETE)
        return TaskRun(COMPLETE, inputs, self.store.outputs(execution.id), executor_input)

    def _parameters(self, name, task, component, root_values, executor_input) -> None:
        """Fills `inputs.parameterValues` as the driver resolves them (defaults included)."""
        values = executor_input.inputs.parameter_values
        for key, source in task.inputs.parameters.items():
            kind = source.WhichOneof("kind")
            if source.parameter_expression_selector or kind not in (
                "component_input_parameter",
                "runtime_value",
            ):
                raise LauncherError(f"task {name}: parameter {key!r} from a {kind} selector")
            if kind == "runtime_value":
                values[key].CopyFrom(source.runtime_value.constant)
            elif source.component_input_parameter in root_values:
                values[key].CopyFrom(root_values[source.component_input_parameter])
        for key, definition in component.input_definitions.parameters.items():
            where = f"task {name}: parameter {key!r}"
            if key not in values and definition.HasField("default_value"):
                values[key].CopyFrom(definition.default_value)
            if key in values:
                values[key].CopyFrom(typed(values[key], definition.parameter_type, where))
            elif not definition.is_optional:
                raise LauncherError(f"{where} has no value and no default")

    def _artifacts(self, name, task, component, runs, executor_input) -> dict[str, list[Artifact]]:
        """Fills `inputs.artifacts` from the producers' recorded outputs."""
        inputs: dict[str, list[Artifact]] = {}
        for key, source in task.inputs.artifacts.items():
            if source.WhichOneof("kind") != "task_output_artifact":
                raise LauncherError(f"task {name}: artifact {key!r} from a pipeline input")
            producer = source.task_output_artifact
            inputs[key] = runs[producer.producer_task].outputs.get(producer.output_artifact_key, [])
            declared = component.input_definitions.artifacts[key].artifact_type
            entry = executor_input.inputs.artifacts[key]
            for artifact in inputs[key]:
                entry.artifacts.append(self.store.runtime_artifact(artifact, declared))
        missing = sorted(
            key
            for key, definition in component.input_definitions.artifacts.items()
            if key not in inputs and not definition.is_optional
        )
        if missing:
            raise LauncherError(f"task {name}: no source for input artifact(s) {missing}")
        return inputs

    def _provision(self, name, component, executor_input, run_id) -> None:
        """`provisionOutputs`: one URI per output artifact under a fresh task root."""
        if component.output_definitions.parameters:
            raise LauncherError(f"task {name}: output parameters are not implemented here")
        root = self.spec.default_pipeline_root
        task_root = os.path.join(root, self.spec.pipeline_info.name, run_id, name, uuid.uuid4().hex)
        os.makedirs(task_root)
        for key, definition in component.output_definitions.artifacts.items():
            artifact = executor_input.outputs.artifacts[key].artifacts.add(
                name=key, uri=f"{task_root}/{key}"
            )
            artifact.type.CopyFrom(definition.artifact_type)
            artifact.metadata.CopyFrom(definition.metadata)
        executor_input.outputs.output_file = os.path.join(task_root, OUTPUT_FILE)

    @staticmethod
    def _importer_uri(name, task, importer, root_values) -> str:
        """The importer's URI: a constant, or the run's value of the parameter it names."""
        if importer.artifact_uri.WhichOneof("value") != "runtime_parameter":
            return importer.artifact_uri.constant.string_value
        source = task.inputs.parameters[importer.artifact_uri.runtime_parameter]
        value = root_values.get(source.component_input_parameter)
        if value is None:
            raise LauncherError(f"task {name}: no value for the importer's URI parameter")
        return value.string_value
