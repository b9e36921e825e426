"""The three executor kinds of a compiled task, as `kfp_launcher.LocalLauncher` runs them.

- container: `launch`, the KFP v2 launcher's `executeV2` for one local task root;
- resolver: `resolve`, Vertex AI Pipelines' artifact queries on the MLMD store;
- importer: `import_uri`, the KFP importer launcher's artifact.
"""

from __future__ import annotations

import os
import re
import subprocess

import numpy as np
from google.protobuf import json_format, struct_pb2
from kfp.pipeline_spec import pipeline_spec_pb2 as kfp

from tests.kfp_mlmd import Artifact, LauncherStore

OUTPUT_FILE = "output_metadata.json"
LOG_FILE = "launcher.log"
_METADATA = re.compile(r"\{\{\$\.inputs\.artifacts\['([^']+)'\]\.metadata\['([^']+)'\]\}\}")
_LOG_TAIL = 30

Outputs = dict[str, list[Artifact]]


class LauncherError(ValueError):
    """The spec asks for something this stand-in does not implement, or is inconsistent."""


class TaskFailed(RuntimeError):
    """A task's container exited non-zero."""


def text(value: struct_pb2.Value) -> str:
    """`PbValueToText`: a parameter or metadata value as text (numbers as Go's 'f', -1)."""
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return value.string_value
    if kind == "number_value":
        return np.format_float_positional(value.number_value, trim="-")
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    return json_format.MessageToJson(value, indent=None)


def _command(task: str, parts: list[str], payload: str, python: str) -> list[str]:
    """The compiled command with `{{$}}` replaced, as `compileCmdAndArgs` does."""
    for part in parts:
        if "{{$" in part.replace("{{$}}", ""):
            raise LauncherError(f"task {task}: placeholder in {part!r} is not implemented here")
    program, *rest = (part.replace("{{$}}", payload) for part in parts)
    if program != "python":
        raise LauncherError(f"task {task}: runs {program!r}; only the image's `python` runs here")
    return [python, *rest]


def _execute(task: str, argv: list[str], env: dict[str, str], task_root: str) -> None:
    log = os.path.join(task_root, LOG_FILE)
    with open(log, "a", encoding="utf-8") as handle:
        done = subprocess.run(
            argv, stdout=handle, stderr=subprocess.STDOUT, cwd=task_root, env=env, check=False
        )
    if done.returncode:
        with open(log, encoding="utf-8", errors="replace") as handle:
            tail = "".join(handle.readlines()[-_LOG_TAIL:])
        raise TaskFailed(f"task {task} exited {done.returncode} (log: {log}):\n{tail}")


def _read_output(path: str) -> kfp.ExecutorOutput:
    """`getExecutorOutputFile`: what the executor wrote (empty if it wrote nothing)."""
    written = kfp.ExecutorOutput()
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            json_format.Parse(handle.read(), written, ignore_unknown_fields=True)
    return written


def _merge(written: kfp.ExecutorOutput, key: str, artifact: kfp.RuntimeArtifact) -> None:
    """`mergeRuntimeArtifacts`: the URI and metadata an executor wrote for output `key`."""
    if key in written.artifacts and written.artifacts[key].artifacts:
        source = written.artifacts[key].artifacts[0]
        artifact.uri = source.uri or artifact.uri
        for field, value in source.metadata.fields.items():
            artifact.metadata.fields[field].CopyFrom(value)


def launch(
    store: LauncherStore,
    task: str,
    container: kfp.PipelineDeploymentConfig.PipelineContainerSpec,
    executor_input: kfp.ExecutorInput,
    python: str,
    name_prefix: str,
) -> Outputs:
    """Runs the preCacheCheck hook (if any) and the container, then records the outputs.

    `executor_input` already holds the provisioned outputs and output file. The
    hook's output (the ExampleGen driver's span, fingerprint, resolved pattern and
    output metadata) is applied to the task before its container starts, as Vertex
    AI does; the file stays where the container's entrypoint reads it too. Each
    output artifact is then recorded with the URI and metadata the container wrote.

    Raises:
        TaskFailed: when a command exits non-zero.
        LauncherError: for a placeholder or program this stand-in cannot run.
    """
    task_root = os.path.dirname(executor_input.outputs.output_file)
    env = {**os.environ, **{variable.name: variable.value for variable in container.env}}
    hook = container.lifecycle.pre_cache_check
    if hook.command:
        payload = json_format.MessageToJson(executor_input, indent=None)
        _execute(task, _command(task, [*hook.command, *hook.args], payload, python), env, task_root)
        driven = _read_output(executor_input.outputs.output_file)
        for key, value in driven.parameter_values.items():
            executor_input.inputs.parameter_values[key].CopyFrom(value)
        for key, entry in executor_input.outputs.artifacts.items():
            _merge(driven, key, entry.artifacts[0])
    payload = json_format.MessageToJson(executor_input, indent=None)
    _execute(
        task, _command(task, [*container.command, *container.args], payload, python), env, task_root
    )
    written = _read_output(executor_input.outputs.output_file)
    outputs: Outputs = {}
    for key, entry in executor_input.outputs.artifacts.items():
        merged = kfp.RuntimeArtifact()
        merged.CopyFrom(entry.artifacts[0])
        _merge(written, key, merged)
        outputs[key] = [store.record_artifact(f"{name_prefix}{key}", key, merged)]
    return outputs


def _filled(task: str, query: str, executor_input: kfp.ExecutorInput) -> str | None:
    """The filter with its input-metadata placeholders filled; None if an input is empty."""
    for match in _METADATA.finditer(query):
        key, prop = match.groups()
        found = executor_input.inputs.artifacts.get(key)
        if found is None or not found.artifacts:
            return None
        metadata = found.artifacts[0].metadata.fields
        if prop not in metadata:
            raise LauncherError(f"task {task}: input {key!r} has no metadata {prop!r}")
        query = query.replace(match.group(0), text(metadata[prop]))
    if "{{" in query:
        raise LauncherError(f"task {task}: placeholder in filter {query!r} is not implemented here")
    return query


def resolve(
    store: LauncherStore,
    task: str,
    resolver: kfp.PipelineDeploymentConfig.ResolverSpec,
    executor_input: kfp.ExecutorInput,
) -> Outputs:
    """Each output: the newest artifact its query matches (none if nothing does)."""
    outputs: Outputs = {}
    for key, query in resolver.output_artifact_queries.items():
        if query.limit > 1:
            raise LauncherError(f"task {task}: query {key!r} asks for {query.limit} artifacts")
        filled = _filled(task, query.filter, executor_input)
        found = store.latest(filled) if filled is not None else None
        outputs[key] = [found] if found is not None else []
    return outputs


def import_uri(
    store: LauncherStore,
    task: str,
    importer: kfp.PipelineDeploymentConfig.ImporterSpec,
    uri: str,
    output_key: str,
    name_prefix: str,
) -> Outputs:
    """The importer's one output: an artifact for `uri` (reused unless `reimport`).

    Raises:
        LauncherError: for an empty URI, as the importer launcher refuses it.
    """
    if not uri:
        raise LauncherError(f"task {task}: the importer's artifact URI is empty")
    runtime = kfp.RuntimeArtifact(uri=uri)
    runtime.type.CopyFrom(importer.type_schema)
    runtime.metadata.CopyFrom(importer.metadata)
    return {
        output_key: [
            store.import_artifact(f"{name_prefix}{output_key}", runtime, importer.reimport)
        ]
    }
