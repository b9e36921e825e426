"""The conformance launcher's own rules, on small synthetic specs (no container runs)."""

from __future__ import annotations

import pytest
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2 as kfp

from tests.kfp_cel import CelError, evaluate
from tests.kfp_executors import LauncherError, TaskFailed
from tests.kfp_launcher import COMPLETE, SKIPPED, LocalLauncher, topological_order
from tests.kfp_mlmd import Execution, LauncherStore, UnsupportedFilter, parse_filter

MODEL = {"instanceSchema": "title: tfx.Model\ntype: object\n"}
CONDITION = "(inputs.artifacts['model'].artifacts[0].metadata['newlevels_new_levels'] > 0.0)"


def executor_input(new_levels) -> dict:
    artifact = {"uri": "/m", "metadata": {"newlevels_new_levels": new_levels}}
    return {"inputs": {"artifacts": {"model": {"artifacts": [artifact]}}}}


def test_a_compiled_condition_decides_on_the_metadata_it_names():
    assert evaluate(CONDITION, executor_input(3.0)) is True
    assert evaluate(CONDITION, executor_input(0.0)) is False
    assert evaluate(f"!{CONDITION} || ('a' + 'b' == 'ab')", executor_input(3.0)) is True


@pytest.mark.parametrize(
    ("condition", "inputs", "message"),
    [
        (CONDITION, executor_input("3"), "no matching overload"),
        (CONDITION.replace("newlevels_new_levels", "missing"), executor_input(1.0), "no such key"),
        ("inputs.artifacts['model'].artifacts[0].uri", executor_input(1.0), "not a bool"),
        ("size(inputs) > 0.0", executor_input(1.0), "cannot read|unexpected"),
    ],
)
def test_a_condition_cel_would_fail_on_fails_instead_of_reading_false(condition, inputs, message):
    with pytest.raises(CelError, match=message):
        evaluate(condition, inputs)


def test_and_or_absorb_an_error_when_the_other_side_decides_as_in_cel():
    missing = CONDITION.replace("newlevels_new_levels", "missing")
    assert evaluate(f"{missing} || (1.0 < 2.0)", executor_input(0.0)) is True
    assert evaluate(f"{missing} && (1.0 > 2.0)", executor_input(0.0)) is False
    with pytest.raises(CelError, match="no such key"):
        evaluate(f"{missing} && (1.0 < 2.0)", executor_input(0.0))


def test_resolver_filter_terms_outside_the_compiled_grammar_are_refused():
    compiled = 'schema_title="tfx.ModelBlessing" AND state=LIVE AND metadata.blessed.number_value=1'
    assert [t["field"] for t in parse_filter(compiled)][:2] == ["schema_title", "state"]
    with pytest.raises(UnsupportedFilter, match="in_context"):
        parse_filter('schema_title="tfx.Model" AND in_context("projects/p/contexts/c")')


def model_runtime(uri: str, **metadata) -> kfp.RuntimeArtifact:
    runtime = json_format.ParseDict({"uri": uri, "type": MODEL}, kfp.RuntimeArtifact())
    runtime.metadata.update(metadata)
    return runtime


def test_a_resolver_query_returns_the_newest_live_match(tmp_path):
    store = LauncherStore(str(tmp_path / "mlmd.sqlite"))
    store.open_run("p", "r")
    for index, blessed in enumerate([1.0, 1.0, 0.0]):
        store.record_artifact(f"m{index}", "model", model_runtime(f"/m{index}", blessed=blessed))
    query = 'schema_title="tfx.Model" AND state=LIVE AND metadata.blessed.number_value=1'
    assert store.latest(query).name == "m1"
    assert store.latest('schema_title="tfx.Model" AND name="m0"').uri == "/m0"
    assert store.latest('schema_title="tfx.Model" AND uri="/m2"').name == "m2"
    assert store.latest('schema_title="tfx.Examples" AND state=LIVE') is None


def synthetic_spec(root: str, reimport: bool = False, new_levels: int = 0) -> kfp.PipelineSpec:
    """An importer (its URI a pipeline parameter) feeding a conditional container that
    exits 3, and a second container after it."""
    container = {"container": {"image": "i", "command": ["python", "-c", "raise SystemExit(3)"]}}
    model_in = {"artifacts": {"model": {"artifactType": MODEL}}}
    spec = {
        "pipelineInfo": {"name": "synthetic"},
        "defaultPipelineRoot": root,
        "schemaVersion": "2.1.0",
        "components": {
            "importer": {
                "executorLabel": "importer_executor",
                "inputDefinitions": {"parameters": {"artifact_uri": {"parameterType": "STRING"}}},
                "outputDefinitions": {"artifacts": {"model": {"artifactType": MODEL}}},
            },
            "gated": {"executorLabel": "run", "inputDefinitions": model_in},
            "after": {"executorLabel": "run"},
        },
        "deploymentSpec": {
            "executors": {
                "importer_executor": {
                    "importer": {
                        "artifactUri": {"runtimeParameter": "artifact_uri"},
                        "typeSchema": MODEL,
                        "metadata": {"newlevels_new_levels": new_levels},
                        "reimport": reimport,
                    }
                },
                "run": container,
            }
        },
        "root": {
            "inputDefinitions": {"parameters": {"uri": {"parameterType": "STRING"}}},
            "dag": {
                "tasks": {
                    "importer": {
                        "taskInfo": {"name": "importer"},
                        "componentRef": {"name": "importer"},
                        "inputs": {
                            "parameters": {"artifact_uri": {"componentInputParameter": "uri"}}
                        },
                    },
                    "gated": {
                        "taskInfo": {"name": "gated"},
                        "componentRef": {"name": "gated"},
                        "dependentTasks": ["importer"],
                        "inputs": {
                            "artifacts": {
                                "model": {
                                    "taskOutputArtifact": {
                                        "producerTask": "importer",
                                        "outputArtifactKey": "model",
                                    }
                                }
                            }
                        },
                        "triggerPolicy": {"condition": CONDITION},
                    },
                    "after": {
                        "taskInfo": {"name": "after"},
                        "componentRef": {"name": "after"},
                        "dependentTasks": ["gated"],
                    },
                }
            },
        },
    }
    return json_format.ParseDict(spec, kfp.PipelineSpec())


def launcher_for(tmp_path, **options) -> LocalLauncher:
    spec = synthetic_spec(str(tmp_path), **options)
    return LocalLauncher(spec, LauncherStore(str(tmp_path / "mlmd.sqlite")))


def test_a_false_condition_skips_the_task_and_every_task_after_it(tmp_path):
    launcher = launcher_for(tmp_path)
    runs = launcher.run("r1", {"uri": "/models/1"})
    assert {name: run.state for name, run in runs.items()} == {
        "importer": COMPLETE,
        "gated": SKIPPED,
        "after": SKIPPED,
    }
    [model] = runs["gated"].inputs["model"]
    assert model.uri == "/models/1"


@pytest.mark.parametrize(("reimport", "same"), [(False, True), (True, False)])
def test_the_importer_reuses_an_equal_artifact_of_the_pipeline_unless_reimport(
    tmp_path, reimport, same
):
    launcher = launcher_for(tmp_path, reimport=reimport)
    [first] = launcher.run("r1", {"uri": "/models/1"})["importer"].outputs["model"]
    [again] = launcher.run("r2", {"uri": "/models/1"})["importer"].outputs["model"]
    assert (again.id == first.id) is same


@pytest.mark.parametrize(
    ("values", "message"),
    [({"uri": 3}, None), ({"nope": "x"}, "no parameter"), ({}, "no value and no default")],
)
def test_pipeline_parameters_are_checked_as_the_driver_checks_them(tmp_path, values, message):
    launcher = launcher_for(tmp_path)
    if message is None:
        # A number for a STRING input reaches the task as its text, as PbValueToText writes it.
        [model] = launcher.run("r", values)["importer"].outputs["model"]
        assert model.uri == "3"
        return
    with pytest.raises(LauncherError, match=message):
        launcher.run("r", values)


def test_a_failing_container_stops_the_run_with_its_exit_code_and_log(tmp_path):
    launcher = launcher_for(tmp_path, new_levels=1)
    with pytest.raises(TaskFailed, match="task gated exited 3"):
        launcher.run("r", {"uri": "/models/1"})
    states = {
        e.custom_properties["task_name"].string_value: e.last_known_state
        for e in launcher.store.store.get_executions()
    }
    assert states == {"importer": Execution.COMPLETE, "gated": Execution.FAILED}


def test_tasks_run_after_their_producers_and_a_cycle_is_refused(tmp_path):
    tasks = synthetic_spec(str(tmp_path)).root.dag.tasks
    assert topological_order(tasks) == ["importer", "gated", "after"]
    tasks["importer"].dependent_tasks.append("after")
    with pytest.raises(LauncherError, match="wait on each other"):
        topological_order(tasks)
